"""JSON shapes of the billing API: camelCase, USD as decimal strings."""

from __future__ import annotations

from rest_framework import serializers

from billing.models import LedgerEntry
from billing.money import format_usd


class LedgerEntryOut(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField(help_text='Signed USD, e.g. "-0.002000".')
    balanceAfter = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "balanceAfter", "reference", "description", "createdAt"]

    def get_amount(self, entry: LedgerEntry) -> str:
        return format_usd(entry.amount_micros)

    def get_balanceAfter(self, entry: LedgerEntry) -> str:
        return format_usd(entry.balance_after_micros)


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


class EchoIn(serializers.Serializer):
    message = StrictCharField(max_length=1000, allow_blank=True, trim_whitespace=False)


class EchoOut(serializers.Serializer):
    message = serializers.CharField()
    charged = serializers.CharField(help_text='USD taken for this call ("0.000000" for test keys).')
    requestId = serializers.CharField()
