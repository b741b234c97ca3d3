"""Fixed-window rate counters in the shared cache, every process sees the same count.

The window and rate semantics are django-ratelimit's: rates like "20/m" (its
`_split_rate`), and windows of `period` seconds whose edges are staggered per
bucket by crc32(bucket) % period (its `_get_window`), so that all buckets do not
reset at the same second. Counter keys are `rl:` plus a hash, as its own are.

`hit()` is the one primitive: the API-key authentication folds the same counter
into its single cache round trip (`counter_key()` / `state_from_count()`), the DRF
throttle and the anonymous limits call `hit()` directly.

When the cache is unreachable, config.cache's first policy decides
(RATE_LIMIT_FAIL_OPEN): through and logged, or 503. Never a 500 either way.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from config import cache as shared_cache
from config.env import parse_rate

__all__ = ["parse_rate"]  # the one parser of rate strings lives with the settings readers

# Counter keys live a little past their window, as django-ratelimit's do.
EXPIRATION_FUDGE = 5


@dataclass(frozen=True, slots=True)
class RateState:
    limit: int
    remaining: int
    reset: int  # Unix seconds at which the current window ends
    allowed: bool

    @property
    def retry_after(self) -> int:
        """Seconds until the window ends (at least 1), for Retry-After."""
        return max(1, self.reset - int(time.time()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


def window_end(bucket: str, period: int, now: float | None = None) -> int:
    """End of the bucket's current window (django-ratelimit's staggered windows)."""
    ts = int(time.time() if now is None else now)
    if period == 1:
        return ts + 1
    end = ts - (ts % period) + (zlib.crc32(bucket.encode("utf-8")) % period)
    return end + period if end <= ts else end


def counter_key(bucket: str, period: int, window: int) -> str:
    return "rl:" + hashlib.sha256(f"{bucket}|{period}|{window}".encode()).hexdigest()[:40]


def state_from_count(count: int, limit: int, window: int) -> RateState:
    return RateState(
        limit=limit, remaining=max(0, limit - count), reset=window, allowed=count <= limit
    )


def _fail_open(limit: int, window: int) -> RateState:
    """The counter could not be read or written (config.cache policy 1)."""
    shared_cache.counter_unavailable()
    return RateState(limit=limit, remaining=limit, reset=window, allowed=True)


def hit(bucket: str, limit: int, period: int = 60) -> RateState:
    """Count one request against `bucket` and say whether it is within `limit` per `period`."""
    window = window_end(bucket, period)
    key = counter_key(bucket, period, window)
    try:
        count = shared_cache.incr_counter(key, period + EXPIRATION_FUDGE)
    except Exception:
        return _fail_open(limit, window)
    return state_from_count(count, limit, window)


def peek(bucket: str, limit: int, period: int = 60) -> RateState:
    """The bucket's state without counting a request."""
    window = window_end(bucket, period)
    try:
        count = int(cache.get(counter_key(bucket, period, window)) or 0)
    except Exception:
        return _fail_open(limit, window)
    return RateState(
        limit=limit, remaining=max(0, limit - count), reset=window, allowed=count < limit
    )


# --- failed authentication per client address ----------------------------------


def auth_failure_bucket(ip: str) -> str:
    return f"authfail:{ip}"


def auth_failure_rate() -> tuple[int, int]:
    """(failures allowed, period in seconds) from settings.AUTH_FAILURE_RATE."""
    return parse_rate(settings.AUTH_FAILURE_RATE)


def count_auth_failure(ip: str | None) -> RateState | None:
    """Count one failed authentication from `ip` (no address, nothing to count)."""
    if ip is None:
        return None
    limit, period = auth_failure_rate()
    return hit(auth_failure_bucket(ip), limit, period)


def auth_failures_exceeded(ip: str | None) -> RateState | None:
    """The address's failure window when it is over AUTH_FAILURE_RATE, else None."""
    if ip is None:
        return None
    limit, period = auth_failure_rate()
    state = peek(auth_failure_bucket(ip), limit, period)
    return None if state.allowed else state


# --- remembering the state of the current request ---------------------------
# The API-key authentication takes the count in its cache round trip; the
# throttle and the response headers reuse it instead of counting twice.

_STATE_ATTR = "gatehouse_rate_state"


def remember(request: Any, state: RateState) -> None:
    """Attach the request's rate state (DRF or Django request)."""
    setattr(getattr(request, "_request", request), _STATE_ATTR, state)


def remembered(request: Any) -> RateState | None:
    return getattr(getattr(request, "_request", request), _STATE_ATTR, None)
