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


def _marker_key(address: str, message: str) -> str:
    digest = hashlib.sha256(f"{address.lower()}\n{message}".encode()).hexdigest()
    return f"wallet:seen:{digest}"


def replay_marker(
    *, address: str, message: str, valid_until: float, now: float | None = None
) -> tuple[str, int]:
    """(cache key, seconds to keep it) of the marker that makes (address, message)
    acceptable once: set it with a set-if-absent; if it was there, it is a replay.

    `valid_until` (Unix seconds) is when the signature stops being acceptable
    anyway; the marker lives at least that long.
    """
    now = time.time() if now is None else now
    return _marker_key(address, message), max(1, math.ceil(valid_until - now) + 1)
