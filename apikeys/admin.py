"""Operators' view of API keys: read-only, with a revoke action through the service.

Neither the secret (never stored) nor the digest is shown anywhere here; keys are
created through the API, the dashboard or `manage.py create_api_key`, which can
show the full key once.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apikeys.models import APIKey, APIKeyEvent, KeyStatus
from apikeys.services import apikey_revoke
from config.net import client_ip

KEY_FIELDS = [
    "id",
    "name",
    "hint",
    "organization",
    "created_by",
    "environment",
    "permissions",
    "rate_limit",
    "allowed_ips",
    "status",
    "expires_at",
    "created_at",
    "regenerated_at",
    "previous_digest_expires_at",
    "last_used_at",
    "last_used_ip",
    "revoked_at",
]


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return KeyStatus.choices

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == KeyStatus.ACTIVE:
            return queryset.active(now)
        if self.value() == KeyStatus.EXPIRED:
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == KeyStatus.REVOKED:
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class EventInline(admin.TabularInline):
    model = APIKeyEvent
    fk_name = "key"
    fields = ["created_at", "action", "actor", "actor_key", "ip", "details"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "hint",
        "organization",
        "environment",
        "status",
        "last_used_at",
        "last_used_ip",
        "expires_at",
        "created_at",
    ]
    list_filter = [StatusFilter, "environment", "organization__plan"]
    search_fields = ["name", "hint", "organization__slug", "organization__name", "last_used_ip"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    # `digest` and `previous_digest` are deliberately absent: fields lists what the
    # page shows, and every field is read-only (changes go through the services).
    fields = KEY_FIELDS
    readonly_fields = KEY_FIELDS
    inlines = [EventInline]
    actions = ["revoke_keys"]

    @admin.display(description="status")
    def status(self, obj: APIKey) -> str:
        return obj.status

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # soft revocation only: the audit trail keeps its subject

    @admin.action(description="Revoke the selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            apikey_revoke(
                key=key, actor_id=request.user.pk, actor_ip=client_ip(request), reason="admin"
            )
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)


@admin.register(APIKeyEvent)
class APIKeyEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "key", "organization", "actor", "actor_key", "ip"]
    list_filter = ["action"]
    search_fields = ["key__hint", "key__name", "organization__name", "organization__slug", "ip"]
    list_select_related = ["key", "organization", "actor", "actor_key"]
    date_hierarchy = "created_at"
    fields = ["created_at", "action", "key", "organization", "actor", "actor_key", "ip", "details"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
