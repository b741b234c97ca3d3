"""JSON shapes of the billing API: camelCase, USD as decimal strings."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.principal import KNOWN_PERMISSIONS
from billing.models import LedgerEntry
from billing.money import MICROS_PER_USD, format_usd, parse_usd
from billing.verification import Verification, VerifyCode
from config.errors import ValidationFailed

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_DATETIME = serializers.DateTimeField()  # DRF's rendering: ISO 8601, UTC as "Z"


class LedgerEntryOut(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField(help_text='Signed USD, e.g. "-0.002000".')
    balanceAfter = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    requestId = serializers.SerializerMethodField(
        help_text="The request this movement belongs to: the X-Request-ID a metered call "
        "(and its refund) answered with, or the requestId a gateway sent to "
        "/api/v1/keys/verify; null for other movements."
    )

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "amount",
            "balanceAfter",
            "reference",
            "requestId",
            "description",
            "createdAt",
        ]

    def get_amount(self, entry: LedgerEntry) -> str:
        return format_usd(entry.amount_micros)

    def get_balanceAfter(self, entry: LedgerEntry) -> str:
        return format_usd(entry.balance_after_micros)

    def get_requestId(self, entry: LedgerEntry) -> str | None:
        request_id = (entry.metadata or {}).get("requestId")
        return request_id if isinstance(request_id, str) and request_id else None


class BalanceOut(serializers.Serializer):
    balance = serializers.CharField(help_text='USD with 6 decimals, e.g. "5.000000".')
    currency = serializers.CharField()
    organizationId = serializers.UUIDField()


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField would turn 5 or 1.5 into "5" and "1.5"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


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


class EchoIn(serializers.Serializer):
    message = StrictCharField(max_length=1000, allow_blank=True, trim_whitespace=False)


class EchoOut(serializers.Serializer):
    message = serializers.CharField()
    charged = serializers.CharField(help_text='USD taken for this call ("0.000000" for test keys).')
    requestId = serializers.CharField()


class UsdField(serializers.Field):
    """A USD amount as a decimal string or an integer (never a float), at most 6
    decimals, zero allowed, at most `max_usd`; becomes integer micro-USD."""

    def __init__(self, *, max_usd: Callable[[], Decimal], **kwargs):
        self.max_usd = max_usd
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            micros = parse_usd(data, field=self.field_name, allow_zero=True)
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.message) from None
        cap = self.max_usd()
        if micros > cap * MICROS_PER_USD:
            raise serializers.ValidationError(f"{self.field_name} must be at most {cap} USD.")
        return micros

    def to_representation(self, value):
        return format_usd(value)


class UsdFieldScheme(OpenApiSerializerFieldExtension):
    """A decimal string or an integer; the integer's maximum is the field's cap."""

    target_class = UsdField

    def map_serializer_field(self, auto_schema, direction):
        cap = self.target.max_usd()
        return {
            "oneOf": [
                {"type": "string", "pattern": r"^\d+(\.\d{1,6})?$", "example": "0.002"},
                {"type": "integer", "minimum": 0, "maximum": int(cap)},
            ]
        }


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
