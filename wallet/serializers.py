"""Request bodies of the wallet endpoints, checked strictly.

JSON types are enforced (a number where a string belongs is a 400, not silently
turned into text), and neither the message nor the signature is trimmed: they
are signed text. The strict field types are the key API's, so both answer alike.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.wallet_address import checksum_address
from config.errors import ValidationFailed
from config.fields import StrictCharField, StrictDateTimeField, StrictSerializer
from wallet.signatures import parse_signature
from wallet.siwe_verify import MAX_MESSAGE_CHARS, check_message_text


def _reason(error: ValidationFailed) -> str:
    fields = (error.details or {}).get("fields", {})
    messages = next(iter(fields.values()), [error.message])
    return messages[0]


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(0[xX])?[0-9a-fA-F]{130}$",
        "description": "The EIP-191 signature: 65 bytes as 0x-prefixed hex.",
    }
)
class SignatureField(StrictCharField):
    pass


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^0x[0-9a-fA-F]{40}$",
        "description": "The signing wallet: 0x and 40 hex digits, all lowercase or "
        "EIP-55 checksummed.",
    }
)
class AddressField(StrictCharField):
    pass


@extend_schema_field({"type": "string", "pattern": "^[\\u0000-\\u007f]+$"})
class SiweMessageField(StrictCharField):
    """EIP-4361's grammar is ASCII throughout (checked by check_message_text)."""


class SiweSignedSerializer(serializers.Serializer):
    message = SiweMessageField(
        max_length=MAX_MESSAGE_CHARS,
        trim_whitespace=False,
        help_text="The EIP-4361 (SIWE) message as signed, with a nonce from /api/auth/siwe/nonce.",
    )
    signature = SignatureField(max_length=200, trim_whitespace=False)

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


def siwe_body_fast(data: Any) -> dict[str, str] | None:
    """SiweVerifySerializer's validated data for a plainly well-formed body, without
    building the serializer (DRF deep-copies its fields on every instantiation, a
    tenth of a sign-in's CPU); None for anything else, which then goes through the
    serializer for its verdict and its exact errors. It accepts only bodies the
    serializer accepts, with the same result (tests/wallet/test_siwe_body.py checks
    that property against the serializer itself)."""
    if type(data) is not dict:
        return None
    message, signature = data.get("message"), data.get("signature")
    if type(message) is not str or type(signature) is not str:
        return None
    # The message as signed (never trimmed): not blank, not too long, ASCII, and no
    # NUL, which ASCII allows and CharField refuses.
    if not 0 < len(message) <= MAX_MESSAGE_CHARS or not message.isascii() or "\x00" in message:
        return None
    try:
        parse_signature(signature)  # 0x and 130 hex digits: nothing CharField refuses
    except ValidationFailed:
        return None
    return {"message": message, "signature": signature}


class HeadlessKeyCreateSerializer(StrictSerializer, SiweSignedSerializer):
    """POST /api/v1/api-keys, no credentials: {address, message, signature, name, expiresAt?}.

    Unknown fields (permissions, environment, ...) are refused: a headless key is a
    live key with every permission, and a client must not believe otherwise."""

    address = AddressField(max_length=42)
    name = StrictCharField(max_length=100, help_text="1 to 100 characters.")
    expiresAt = StrictDateTimeField(
        required=False, allow_null=True, help_text="Default 90 days from now, at most 365 days."
    )

    def validate_address(self, value: str) -> str:
        try:
            return checksum_address(value)
        except ValidationFailed as exc:
            raise serializers.ValidationError(_reason(exc)) from None


class WalletUserOut(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    username = serializers.CharField()
    walletAddress = serializers.CharField(source="wallet_address", allow_null=True)


class WalletOrganizationOut(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    name = serializers.CharField()
    slug = serializers.CharField()
    plan = serializers.CharField()


class SiweLoginOut(serializers.Serializer):
    """The browser sign-in's answer (a wallet.signin.WalletAccount)."""

    user = WalletUserOut()
    organization = WalletOrganizationOut()
    isNewAccount = serializers.BooleanField(source="is_new_account")


class SiweSignInOut(serializers.Serializer):
    """The API sign-in's answer (a wallet.signin.SignIn): the key, shown once."""

    apiKey = serializers.CharField(source="key")
    user = WalletUserOut()
    organization = WalletOrganizationOut()
    isNewAccount = serializers.BooleanField(source="is_new_account")

    @classmethod
    def render(cls, result: Any) -> dict[str, Any]:
        """What `cls(result).data` is, built directly: a serializer with nested ones
        costs a sign-in ~0.2 ms of CPU to instantiate (tests/wallet/test_siwe_body.py
        holds the two equal)."""
        user, org = result.user, result.organization
        return {
            "apiKey": str(result.key),
            "user": {
                "id": str(user.pk),
                "username": str(user.username),
                "walletAddress": None if user.wallet_address is None else str(user.wallet_address),
            },
            "organization": {
                "id": str(org.pk),
                "name": str(org.name),
                "slug": str(org.slug),
                "plan": str(org.plan),
            },
            "isNewAccount": bool(result.is_new_account),
        }
