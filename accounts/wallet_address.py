"""Ethereum addresses as users type them and as we store them.

Accepted: `0x` + 40 hex digits, either all lowercase (no checksum to check) or
EIP-55 checksummed. A mixed-case address with a wrong checksum is a typo, and
an all-uppercase one carries no checksum while looking like it does, so both are
refused. Stored: the checksummed form.
"""

from __future__ import annotations

import string

from eth_utils import is_checksum_address, to_checksum_address

from config.errors import invalid_field

_HEX = frozenset(string.hexdigits)


def is_well_formed(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 42
        and value.startswith("0x")
        and all(c in _HEX for c in value[2:])
    )


def checksum_address(value: object, *, field: str = "address") -> str:
    """The EIP-55 form of a lowercase or checksummed address; ValidationFailed otherwise."""
    if not is_well_formed(value):
        raise invalid_field(field, "must be 0x followed by 40 hexadecimal digits.")
    assert isinstance(value, str)
    if value[2:] == value[2:].lower():
        return to_checksum_address(value)
    if is_checksum_address(value):
        return value
    raise invalid_field(field, "has a wrong EIP-55 checksum; send it checksummed or all lowercase.")
