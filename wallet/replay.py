"""Signed-request replay guard: each signed message is accepted once.

The marker is keyed by a digest of the signer and the signed text, not by the
signature: ECDSA signatures are malleable (s -> n - s, and v as 0/1 or 27/28),
so one message has several valid signature encodings, and keying by signature
would let a replay through in a new disguise. Two honest requests never sign the
same text: it holds the millisecond timestamp, the method and the path.
"""

from __future__ import annotations

import hashlib
import math
import time

from wallet import shared_cache


def _marker_key(address: str, message: str) -> str:
    digest = hashlib.sha256(f"{address.lower()}\n{message}".encode()).hexdigest()
    return f"wallet:seen:{digest}"


def signature_first_use(
    *, address: str, message: str, valid_until: float, now: float | None = None
) -> bool:
    """True the first time (address, message) is presented; False for a replay.

    `valid_until` (Unix seconds) is when the signature stops being acceptable
    anyway; the marker lives at least that long.
    """
    now = time.time() if now is None else now
    ttl = max(1, math.ceil(valid_until - now) + 1)
    return shared_cache.add(_marker_key(address, message), 1, timeout=ttl)
