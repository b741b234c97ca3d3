"""EIP-191 personal signatures: the format check and the one recovery we do.

Recovery goes through eth-account, whose eth-keys backend is coincurve
(libsecp256k1) whenever coincurve is installed — it is a pinned dependency,
and tests assert the backend, because the pure-Python fallback is ~50x slower.
"""

from __future__ import annotations

import string

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature

from config.errors import invalid_field

SIGNATURE_BYTES = 65  # r (32) + s (32) + v (1)
_HEX = frozenset(string.hexdigits)


def parse_signature(value: object, *, field: str = "signature") -> bytes:
    """The 65 signature bytes from `0x` + 130 hex digits (the `0x` may be omitted)."""
    if not isinstance(value, str):
        raise invalid_field(field, "must be a string.")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if len(text) != 2 * SIGNATURE_BYTES or not all(c in _HEX for c in text):
        raise invalid_field(field, "must be 65 bytes as 0x-prefixed hex (132 characters).")
    return bytes.fromhex(text)


def recover_signer(message: str, signature: bytes) -> str | None:
    """The checksummed address that signed `message` (EIP-191), or None if none can."""
    try:
        return Account.recover_message(encode_defunct(text=message), signature=signature)
    except (ValueError, TypeError, BadSignature):
        # Out-of-range r/s/v: a forged or corrupted signature, not a server error.
        return None
