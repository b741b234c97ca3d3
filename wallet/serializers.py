"""Request bodies of the wallet endpoints, checked strictly.

JSON types are enforced (a number where a string belongs is a 400, not
silently turned into text), and neither the message nor the signature is
trimmed: they are signed bytes.
"""

from __future__ import annotations

from rest_framework import serializers

from accounts.wallet_address import checksum_address
from config.errors import ValidationFailed
from wallet.signatures import parse_signature
from wallet.siwe_verify import MAX_MESSAGE_CHARS, check_message_text


class StrictCharField(serializers.CharField):
    default_error_messages = {"not_a_string": "Must be a string."}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


def _reason(error: ValidationFailed) -> str:
    fields = (error.details or {}).get("fields", {})
    messages = next(iter(fields.values()), [error.message])
    return messages[0]


class SiweSignedSerializer(serializers.Serializer):
    message = StrictCharField(max_length=MAX_MESSAGE_CHARS)
    signature = StrictCharField(max_length=200)

    def validate_message(self, value: str) -> str:
        try:
            return check_message_text(value)
        except ValidationFailed as exc:
            raise serializers.ValidationError(_reason(exc)) from None

    def validate_signature(self, value: str) -> str:
        try:
            parse_signature(value)
        except ValidationFailed as exc:
            raise serializers.ValidationError(_reason(exc)) from None
        return value


class SiweVerifySerializer(SiweSignedSerializer):
    """POST /api/auth/siwe/verify {message, signature}."""


class RejectUnknownFieldsMixin:
    """A client that sends a field we ignore would believe it took effect."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))  # type: ignore[attr-defined]
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field for this request."] for name in unknown}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class HeadlessKeyCreateSerializer(RejectUnknownFieldsMixin, SiweSignedSerializer):
    """POST /api/v1/api-keys, no credentials: {address, message, signature, name, expiresAt?}."""

    address = StrictCharField(max_length=42)
    name = StrictCharField(max_length=100, trim_whitespace=True)
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)

    def validate_address(self, value: str) -> str:
        try:
            return checksum_address(value)
        except ValidationFailed as exc:
            raise serializers.ValidationError(_reason(exc)) from None
