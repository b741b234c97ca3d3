from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.admin_deletion import KeptForAuditTrailMixin
from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.models import Membership, Organization, User

# The admin's login counts and refuses failed attempts like the dashboard's.
admin.site.login_form = ThrottledAdminAuthenticationForm


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(KeptForAuditTrailMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "plan", "custom_rate_limit", "created_at"]
    list_filter = ["plan"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]


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
