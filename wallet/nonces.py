"""SIWE nonces: issued here, single-use, and never accepted twice.

Two kinds of key live in the shared cache:
- `siwe:nonce:<n>`: a nonce we issued, for NONCE_TTL_SECONDS. Consuming it is
  one atomic delete, so under any concurrency exactly one request gets it.
- `siwe:used:<n>`: written (set-if-absent) for every nonce a verified SIWE
  message presents, whether we issued it or the client chose it (headless key
  creation). It lives as long as any message carrying that nonce could still be
  accepted, so a message used at one endpoint cannot be replayed at the other.
"""

from __future__ import annotations

import secrets
import string

from config import cache as shared_cache

NONCE_TTL_SECONDS = 5 * 60
NONCE_LENGTH = 24  # alphanumerics: ~142 bits from the OS CSPRNG
# A used-nonce marker must outlive every message that could carry the nonce:
# an issued nonce lives NONCE_TTL_SECONDS, a headless message at most
# HEADLESS_MAX_LIFETIME_SECONDS (wallet.siwe_verify) plus clock skew.
USED_MARKER_SECONDS = 11 * 60

_ALPHABET = string.ascii_letters + string.digits


def _issued_key(nonce: str) -> str:
    return f"siwe:nonce:{nonce}"


def _used_key(nonce: str, address: str | None = None) -> str:
    # Per address: a client-chosen (predictable) headless nonce that another wallet
    # used first cannot be burnt for everyone else (SPEC §3).
    return f"siwe:used:{address}:{nonce}" if address else f"siwe:used:{nonce}"


def nonce_issue() -> str:
    """A fresh nonce, remembered for NONCE_TTL_SECONDS (ServiceUnavailable if the cache is down)."""
    while True:
        nonce = "".join(secrets.choice(_ALPHABET) for _ in range(NONCE_LENGTH))
        # `add` rather than `set`: a (astronomically unlikely) duplicate is redrawn
        # instead of silently extending someone else's nonce.
        if shared_cache.add(_issued_key(nonce), 1, timeout=NONCE_TTL_SECONDS):
            return nonce


def nonce_claim(nonce: str, *, allow_client_nonce: bool, address: str | None = None) -> bool:
    """Spend `nonce` for a message whose signature has been verified.

    True when this call is the nonce's one use: it was never presented before,
    and either we issued it (and it is now consumed) or `allow_client_nonce`.
    """
    # The marker first, and the issued nonce taken only when this call set it: one
    # round trip on Redis (config.cache.add_then_take).
    added, issued = shared_cache.add_then_take(
        _used_key(nonce, address), 1, USED_MARKER_SECONDS, _issued_key(nonce)
    )
    if not added:
        return False
    return issued or allow_client_nonce
