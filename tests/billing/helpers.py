"""Helpers shared by the billing tests."""

import time

from apikeys import keycache, keyformat
from billing import ratelimit


def fresh_window(bucket: str, period: int = 60, margin: int = 5) -> None:
    """Wait, if need be, until `bucket`'s fixed window has `margin` seconds left.

    A counting test that straddled a window edge would see its count reset half
    way; this keeps such tests deterministic (it never waits more than `margin`).
    """
    left = ratelimit.window_end(bucket, period) - time.time()
    if left < margin:
        time.sleep(max(0.0, left) + 0.05)


def key_bucket(full_key: str) -> str:
    """The rate bucket of a key (what KeyInfo.rate_bucket names)."""
    return keycache.rate_bucket(keyformat.digest(full_key))
