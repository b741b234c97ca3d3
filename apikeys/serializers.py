"""JSON shapes of the key API (camelCase). Input serializers check types and refuse
unknown fields; the rules (ranges, caps, known permissions) live in the services."""

from __future__ import annotations

import datetime
import ipaddress
import re
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.principal import KNOWN_PERMISSIONS, Environment
from apikeys.models import APIKey
from apikeys.verification import Verification, VerifyCode
from billing.money import MICROS_PER_USD, format_usd, parse_usd
from billing.serializers import UsdField
from config.errors import ValidationFailed
from config.fields import (
    StrictCharField,
    StrictDateTimeField,
    StrictIntegerField,
    StrictSerializer,
)


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
    environment = serializers.ChoiceField(choices=Environment.values, default=Environment.LIVE)
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
    credits = CreditsSerializer(allow_null=True, help_text="null without the billing permission.")
    keyCount = serializers.IntegerField(help_text="Active API keys.")


# --- the remote verify endpoint ------------------------------------------------

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
# DRF's rendering: ISO 8601, UTC as "Z". The zone is given (TIME_ZONE is UTC and
# nothing activates another): without it DRF looks the current zone up through
# asgiref's context-local storage on every verify response.
_DATETIME = serializers.DateTimeField(default_timezone=datetime.UTC)


@extend_schema_field(
    {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}], "maxLength": 64}
)
class IpAddressText(StrictCharField):
    """An IPv4 or IPv6 address as text (checked by the serializer that uses it)."""


@extend_schema_field({"type": "string", "enum": sorted(KNOWN_PERMISSIONS)})
class PermissionName(StrictCharField):
    """A known permission's name (checked by the serializer that uses it)."""


@extend_schema_field({"type": "string", "pattern": f"^{_REQUEST_ID.pattern}$"})
class RequestIdText(StrictCharField):
    """An idempotency id (checked by the serializer that uses it)."""


class VerifyIn(serializers.Serializer):
    key = StrictCharField(max_length=1000, help_text="The API key to check.")
    permissions = serializers.ListField(
        child=PermissionName(max_length=50),
        required=False,
        max_length=50,
        help_text="Permissions the call needs; each a known name (chat, chat:write, ...).",
    )
    cost = UsdField(
        max_usd=lambda: settings.VERIFY_MAX_COST_USD,
        required=False,
        help_text='USD to charge when everything else passes: "0.002" or an integer.',
    )
    ip = IpAddressText(
        required=False,
        max_length=64,
        help_text="The address the key's user called from, checked against the key's "
        "allow-list. A key with an allow-list is FORBIDDEN without it.",
    )
    requestId = RequestIdText(
        required=False,
        max_length=100,
        help_text="Idempotency: a retried verification with the same requestId and cost "
        "is charged once.",
    )

    def validate_permissions(self, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in KNOWN_PERMISSIONS]
        if unknown:
            raise serializers.ValidationError(f"Unknown permission {unknown[0]!r}.")
        return value

    def validate_ip(self, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise serializers.ValidationError("Must be an IPv4 or IPv6 address.") from None

    def validate_requestId(self, value: str) -> str:
        if not _REQUEST_ID.fullmatch(value):
            raise serializers.ValidationError(
                "Use 1 to 100 letters, digits and . _ : - characters."
            )
        return value


def verify_body_fast(data: Any) -> dict[str, Any] | None:
    """VerifyIn's validated data for a plainly well-formed body, without building
    a serializer (DRF deep-copies its fields on every instantiation, a large part
    of a verify call's time); None for anything else, which then goes through
    VerifyIn for its verdict and its exact errors. It accepts only bodies VerifyIn
    accepts, with the same result (tests/apikeys/test_verify_body.py checks that
    property against VerifyIn itself)."""
    if type(data) is not dict:
        return None
    out: dict[str, Any] = {}
    key = _plain_text(data.get("key"), 1000)
    if key is None:
        return None
    out["key"] = key
    if "permissions" in data:
        names = data["permissions"]
        if type(names) is not list or len(names) > 50:
            return None
        cleaned = [_plain_text(name, 50) for name in names]
        if not all(name in KNOWN_PERMISSIONS for name in cleaned):
            return None
        out["permissions"] = cleaned
    if "cost" in data:
        cost = data["cost"]
        if type(cost) not in (str, int):
            return None
        try:
            micros = parse_usd(cost, field="cost", allow_zero=True)
        except ValidationFailed:
            return None
        if micros > settings.VERIFY_MAX_COST_USD * MICROS_PER_USD:
            return None
        out["cost"] = micros
    if "ip" in data:
        ip = _plain_text(data["ip"], 64)
        if ip is None:
            return None
        try:
            out["ip"] = str(ipaddress.ip_address(ip))
        except ValueError:
            return None
    if "requestId" in data:
        request_id = _plain_text(data["requestId"], 100)
        if request_id is None or not _REQUEST_ID.fullmatch(request_id):
            return None
        out["requestId"] = request_id
    return out


def _plain_text(value: Any, max_length: int) -> str | None:
    """What a strict CharField makes of a plain ASCII string (trimmed, not blank, no
    NUL, at most `max_length`), else None."""
    if type(value) is not str or not value.isascii() or "\x00" in value:
        return None
    value = value.strip()
    return value if 0 < len(value) <= max_length else None


class RateLimitOut(serializers.Serializer):
    limit = serializers.IntegerField()
    remaining = serializers.IntegerField()
    reset = serializers.IntegerField(help_text="Unix seconds when the window resets.")


class CreditsOut(serializers.Serializer):
    remaining = serializers.CharField(help_text='USD, e.g. "4.998000".')


class VerifyOut(serializers.Serializer):
    valid = serializers.BooleanField()
    code = serializers.ChoiceField(choices=[c.value for c in VerifyCode])
    keyId = serializers.UUIDField(allow_null=True)
    organizationId = serializers.UUIDField(allow_null=True)
    environment = serializers.CharField(allow_null=True)
    permissions = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="The key's permissions; an empty list means every permission.",
    )
    expiresAt = serializers.DateTimeField(allow_null=True)
    ratelimit = RateLimitOut(allow_null=True)
    credits = CreditsOut(allow_null=True)

    @classmethod
    def render(cls, result: Verification) -> dict[str, Any]:
        key, rate = result.key, result.rate
        return {
            "valid": result.valid,
            "code": result.code.value,
            "keyId": str(key.key_id) if key else None,
            "organizationId": str(key.organization_id) if key else None,
            "environment": key.environment if key else None,
            "permissions": sorted(key.permissions) if key else None,
            "expiresAt": _DATETIME.to_representation(key.expires_at) if key else None,
            "ratelimit": (
                {"limit": rate.limit, "remaining": rate.remaining, "reset": rate.reset}
                if rate
                else None
            ),
            "credits": (
                {"remaining": format_usd(result.credits_remaining_micros)}
                if result.credits_remaining_micros is not None
                else None
            ),
        }
