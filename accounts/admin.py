from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.admin_deletion import KeptForAuditTrailMixin
from accounts.forms import GrantCreditsForm
from accounts.models import Membership, Organization, User
from billing import services as billing_services
from billing.models import EntryKind
from billing.money import format_usd


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(KeptForAuditTrailMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "plan", "custom_rate_limit", "balance", "created_at"]
    list_filter = ["plan"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["id", "created_at", "balance"]
    inlines = [MembershipInline]
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


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "wallet_address", "is_staff", "date_joined"]
    search_fields = ["username", "email", "wallet_address"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Wallet", {"fields": ("wallet_address",)}))
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = [
        "user__username",
        "user__wallet_address",
        "organization__name",
        "organization__slug",
    ]
    autocomplete_fields = ["user", "organization"]
