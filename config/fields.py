"""Strict serializer fields: JSON types as sent, never coerced, and bodies that
refuse fields they do not know. Every API input serializer builds on these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from rest_framework import serializers


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
