from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.admin import OrganizationAdmin as AccountsOrganizationAdmin
from accounts.models import Organization
from billing import services as billing_services
from billing.forms import GrantCreditsForm
from billing.models import CreditAccount, EntryKind, LedgerEntry, Payment
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
    search_fields = ["organization__name", "organization__slug", "reference", "description"]
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
    search_fields = ["organization__name", "organization__slug"]
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


class OrganizationAdmin(AccountsOrganizationAdmin):
    """accounts' organization admin, plus what billing knows: the balance and the
    operator's grant-credits action (accounts cannot see billing)."""

    list_display = ["name", "slug", "plan", "custom_rate_limit", "balance", "created_at"]
    readonly_fields = ["id", "created_at", "balance"]
    actions = ["grant_credits"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("credit_account")

    @admin.display(description="Balance (USD)")
    def balance(self, obj: Organization) -> str:
        account = getattr(obj, "credit_account", None)
        return format_usd(account.balance_micros if account else 0)

    @admin.action(description="Grant credits to the selected organizations")
    def grant_credits(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = GrantCreditsForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for org in queryset:
                billing_services.credits_grant(
                    organization=org,
                    amount_micros=form.cleaned_data["usd"],
                    kind=EntryKind.ADJUSTMENT,
                    description=form.cleaned_data["reason"],
                    metadata={"source": "admin", "operator": request.user.get_username()},
                )
            self.message_user(
                request,
                f"Granted {format_usd(form.cleaned_data['usd'])} USD to "
                f"{queryset.count()} organization(s).",
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/accounts/organization/grant_credits.html",
            {
                **self.admin_site.each_context(request),
                "title": "Grant credits",
                "form": form,
                "organizations": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


admin.site.unregister(Organization)
admin.site.register(Organization, OrganizationAdmin)
