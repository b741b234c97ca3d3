"""Helpers shared by tests of every app."""

import time

from billing import ratelimit


def fresh_window(*buckets: str, period: int = 60, margin: int = 5) -> None:
    """Wait, if need be, until each bucket's fixed window has `margin` seconds left.

    A counting test that straddled a window edge would see its count reset half
    way; this keeps such tests deterministic (it never waits more than `margin`
    per bucket).
    """
    for bucket in buckets:
        left = ratelimit.window_end(bucket, period) - time.time()
        if left < margin:
            time.sleep(max(0.0, left) + 0.05)


def failure_window(ip: str = "127.0.0.1") -> None:
    """A fresh AUTH_FAILURE_RATE window for `ip` (the test client's address)."""
    _, period = ratelimit.auth_failure_rate()
    fresh_window(ratelimit.auth_failure_bucket(ip), period=period)
