"""JSON shapes of the billing API: camelCase, USD as decimal strings."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from billing.models import LedgerEntry
from billing.money import MICROS_PER_USD, format_usd, parse_usd
from config.errors import ValidationFailed
from config.fields import StrictCharField


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
