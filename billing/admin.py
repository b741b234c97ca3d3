from django.contrib import admin
from django.http import HttpRequest

from billing.models import CreditAccount, LedgerEntry, Payment
from billing.money import format_usd


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money changes only through billing.services: the admin shows, never edits,
    and that holds for superusers too."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "kind", "amount", "balance_after", "reference"]
    list_filter = ["kind"]
    search_fields = ["organization__slug", "reference", "description"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"

    @admin.display(description="Amount (USD)")
    def amount(self, obj: LedgerEntry) -> str:
        return format_usd(obj.amount_micros)

    @admin.display(description="Balance after (USD)")
    def balance_after(self, obj: LedgerEntry) -> str:
        return format_usd(obj.balance_after_micros)


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdmin):
    list_display = ["organization", "balance", "updated_at"]
    search_fields = ["organization__slug"]
    list_select_related = ["organization"]

    @admin.display(description="Balance (USD)")
    def balance(self, obj: CreditAccount) -> str:
        return format_usd(obj.balance_micros)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "status",
        "amount",
        "payer",
        "network",
        "organization",
        "tx_hash",
    ]
    list_filter = ["status", "kind", "network"]
    search_fields = ["payer", "nonce", "tx_hash", "organization__slug", "beneficiary"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Payment._meta.fields]

    @admin.display(description="Amount (atomic units)")
    def amount(self, obj: Payment) -> str:
        return str(obj.amount_atomic)
