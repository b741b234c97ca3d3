"""Fixed-window rate counters in the shared cache, every process sees the same count.

The window and rate semantics are django-ratelimit's: rates like "20/m" (its
`_split_rate`), and windows of `period` seconds whose edges are staggered per
bucket by crc32(bucket) % period (its `_get_window`), so that all buckets do not
reset at the same second. Counter keys are `rl:` plus a hash, as its own are.

`hit()` is the one primitive: the API-key authentication folds the same counter
into its single cache round trip (`counter_key()` / `state_from_count()`), the DRF
throttle and the anonymous limits call `hit()` directly.

When the cache is unreachable, RATE_LIMIT_FAIL_OPEN decides, here and only
here: true (the default) lets the request through and logs at ERROR (a rate
limit is not worth an outage, and nothing here guards money or secrets); false
raises ServiceUnavailable, which the API answers with 503 SERVICE_UNAVAILABLE.
Never a 500 either way.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache

from config.cache import redis_client
from config.errors import ServiceUnavailable

logger = logging.getLogger("gatehouse.ratelimit")

# Counter keys live a little past their window, as django-ratelimit's do.
EXPIRATION_FUDGE = 5
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_RE = re.compile(r"^(\d+)/(\d*)([smhd])$")


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


@lru_cache(maxsize=64)
def parse_rate(rate: str) -> tuple[int, int]:
    """ "20/m" -> (20, 60); "100/5m" -> (100, 300). Raises ValueError on anything else."""
    match = _RATE_RE.match(rate.strip()) if isinstance(rate, str) else None
    if not match:
        raise ValueError(f"rate must look like 20/m or 100/5m, got {rate!r}")
    count, multiplier, unit = match.groups()
    period = _PERIODS[unit] * (int(multiplier) if multiplier else 1)
    if int(count) < 1 or period < 1:
        raise ValueError(f"rate must allow at least one request per period, got {rate!r}")
    return int(count), period


def window_end(bucket: str, period: int, now: float | None = None) -> int:
    """End of the bucket's current window (django-ratelimit's staggered windows)."""
    ts = int(time.time() if now is None else now)
    if period == 1:
        return ts + 1
    end = ts - (ts % period) + (zlib.crc32(bucket.encode("utf-8")) % period)
    return end + period if end <= ts else end


@lru_cache(maxsize=4096)
def counter_key(bucket: str, period: int, window: int) -> str:
    # A pure function, memoised: a busy key asks for the same name all minute.
    return "rl:" + hashlib.sha256(f"{bucket}|{period}|{window}".encode()).hexdigest()[:40]


def state_from_count(count: int, limit: int, window: int) -> RateState:
    return RateState(
        limit=limit, remaining=max(0, limit - count), reset=window, allowed=count <= limit
    )


def _fail_open(limit: int, window: int) -> RateState:
    """The counter could not be read or written: follow RATE_LIMIT_FAIL_OPEN."""
    if not settings.RATE_LIMIT_FAIL_OPEN:
        logger.error("Rate-limit counter unavailable; refusing the request", exc_info=True)
        raise ServiceUnavailable("Rate limiting is unavailable; try again shortly.")
    logger.error("Rate-limit counter unavailable; letting the request through", exc_info=True)
    return RateState(limit=limit, remaining=limit, reset=window, allowed=True)


def hit(bucket: str, limit: int, period: int = 60) -> RateState:
    """Count one request against `bucket` and say whether it is within `limit` per `period`."""
    window = window_end(bucket, period)
    key = counter_key(bucket, period, window)
    try:
        client = redis_client()
        if client is not None:
            raw = cache.make_key(key)
            count = int(client.incr(raw))
            if count == 1:  # the window's first hit sets its expiry
                client.expire(raw, period + EXPIRATION_FUDGE)
        elif cache.add(key, 1, period + EXPIRATION_FUDGE):
            count = 1
        else:
            count = cache.incr(key)
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
