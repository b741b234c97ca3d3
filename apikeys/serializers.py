"""JSON shapes of the key API (camelCase). Input serializers check types and refuse
unknown fields; the rules (ranges, caps, known permissions) live in the services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from accounts.principal import KNOWN_PERMISSIONS
from apikeys.models import APIKey, Environment


class StrictCharField(serializers.CharField):
    """A JSON string only (DRF's CharField would turn 12 into "12")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only (not "5", 5.0 or true)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateTimeField(serializers.DateTimeField):
    """An ISO 8601 string with a time zone."""

    default_error_messages = {"naive": "Give a time zone, e.g. 2026-01-31T12:00:00Z."}

    def to_internal_value(self, value: Any):
        if not isinstance(value, str) or len(value) > 64:
            self.fail("invalid", format="ISO 8601")
        parsed = super().to_internal_value(value)
        if timezone.is_naive(parsed):
            self.fail("naive")
        return parsed

    def enforce_timezone(self, value):
        return value  # keep the client's offset; naive values are refused above


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo ("permisions") is a 400, not ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(name)[:50] for name in set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class APIKeyCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=100, help_text="1 to 100 characters.")
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(KNOWN_PERMISSIONS)),
        required=False,
        max_length=50,
        help_text="Empty or absent: every permission of the organization.",
    )
    rateLimit = StrictIntegerField(
        required=False, allow_null=True, help_text="Requests per minute; null: the plan's."
    )
    expiresAt = StrictDateTimeField(
        required=False,
        allow_null=True,
        help_text="Default 90 days from now, at most 365 days.",
    )
    environment = serializers.ChoiceField(choices=Environment.values, default="live")
    allowedIps = serializers.ListField(
        child=StrictCharField(max_length=64),
        required=False,
        max_length=100,
        help_text="Addresses or CIDR networks; empty: any address.",
    )


class APIKeyRegenerateSerializer(StrictSerializer):
    gracePeriodSeconds = StrictIntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=86400,
        help_text="How long the old secret keeps working (0 to 86400 seconds).",
    )


class APIKeySerializer(serializers.ModelSerializer):
    """A key as its owner sees it: never the secret, never the digest."""

    rateLimit = serializers.IntegerField(source="rate_limit", allow_null=True)
    allowedIps = serializers.ListField(source="allowed_ips", child=serializers.CharField())
    permissions = serializers.ListField(child=serializers.CharField())
    expiresAt = serializers.DateTimeField(source="expires_at")
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    lastUsedIp = serializers.CharField(source="last_used_ip", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)
    regeneratedAt = serializers.DateTimeField(source="regenerated_at", allow_null=True)
    status = serializers.ChoiceField(choices=["active", "expired", "revoked"])

    class Meta:
        model = APIKey
        fields = [
            "id",
            "name",
            "hint",
            "environment",
            "permissions",
            "rateLimit",
            "allowedIps",
            "expiresAt",
            "createdAt",
            "lastUsedAt",
            "lastUsedIp",
            "revokedAt",
            "regeneratedAt",
            "status",
        ]
        read_only_fields = fields


class APIKeyEnvelopeSerializer(serializers.Serializer):
    apiKey = APIKeySerializer()


class APIKeyWithSecretSerializer(APIKeyEnvelopeSerializer):
    key = serializers.CharField(help_text="The full key. Shown only in this response.")


class DashboardUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()
    walletAddress = serializers.CharField(allow_null=True)


class DashboardOrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    plan = serializers.CharField()
    rateLimit = serializers.IntegerField(help_text="The plan's requests per minute.")


class CreditsSerializer(serializers.Serializer):
    balance = serializers.CharField(help_text='USD, e.g. "5.000000".')


class DashboardSerializer(serializers.Serializer):
    user = DashboardUserSerializer(allow_null=True)
    organization = DashboardOrganizationSerializer()
    authMethod = serializers.ChoiceField(choices=["api_key", "wallet", "session"])
    keyId = serializers.UUIDField(allow_null=True)
    environment = serializers.CharField()
    credits = CreditsSerializer()
    keyCount = serializers.IntegerField(help_text="Active API keys.")
