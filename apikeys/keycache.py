"""The key record in the shared cache, and the one round trip of the hot path.

A record is a small dict under the key's digest (never the key): everything the
authentication needs, so a warm request makes no database query. Writers never
merely delete it: after a change commits they *overwrite* it with the new state
(`publish`), and readers that filled it from the database use `add`, which
never overwrites. So a request that read the row just before a revocation
cannot put the old "valid" record back over the revoked one; revocation takes
effect on every process at the next request.

On Redis one pipeline fetches the record, counts the request in the key's rate
window, reads the caller's failed-authentication count and the two usage guards
(last-used, seen-address): one round trip, and no write but the counter.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache

from billing import ratelimit

RECORD_VERSION = 1
RATE_PERIOD = 60  # per-key limits are per minute
USED_GUARD_SECONDS = 60  # lastUsedAt is written at most once a minute per key
SEEN_GUARD_SECONDS = 86400  # a key+address pair is checked against the audit trail daily


def record_key(digest: str) -> str:
    return f"apikey:rec:{digest}"


def used_key(digest: str) -> str:
    return f"apikey:used:{digest}"


def seen_key(digest: str, ip: str) -> str:
    return f"apikey:seen:{digest}:{ip}"


def rate_bucket(digest: str) -> str:
    """The per-key rate bucket: the digest of the key's current secret."""
    return f"apikey:{digest}"


def build_record(key: Any, digest: str) -> dict[str, Any]:
    """The cacheable state of `key` as seen through `digest` (current or previous)."""
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "id": str(key.id),
        "org": str(key.organization_id),
        "user": str(key.created_by_id) if key.created_by_id else None,
        "env": key.environment,
        "perms": list(key.permissions),
        "rl": key.effective_rate_limit,
        "ips": list(key.allowed_ips),
        "exp": key.expires_at.timestamp(),
        "hint": key.hint,
        "rev": key.revoked_at is not None,
        # The rate counter of a key is its current secret's, also during a grace period.
        "ctr": key.digest,
    }
    if digest != key.digest:
        until = key.previous_digest_expires_at if digest == key.previous_digest else None
        # A replaced secret: valid until its grace ends (0 = replaced without grace).
        record["until"] = until.timestamp() if until else 0.0
    return record


def publish(records: dict[str, dict[str, Any]]) -> None:
    """Overwrite the cached records after a change has committed (revoke, regenerate, ...)."""
    cache.set_many(
        {record_key(d): r for d, r in records.items()}, timeout=settings.API_KEY_CACHE_SECONDS
    )


def fill(digest: str, record: dict[str, Any]) -> None:
    """Cache a record read from the database; never overwrites a published one."""
    cache.add(record_key(digest), record, timeout=settings.API_KEY_CACHE_SECONDS)


def forget(digests: list[str]) -> None:
    """Drop records whose derived values changed (a plan's rate limit)."""
    cache.delete_many([record_key(d) for d in digests])


def add_guard(name: str, seconds: int) -> bool:
    """Set a guard unless present; True for the one caller that set it."""
    return bool(cache.add(name, 1, timeout=seconds))


@dataclass(frozen=True, slots=True)
class HotRead:
    record: dict[str, Any] | None
    count: int | None  # this request's number in the digest's rate window (None: not counted)
    window: int  # end of that window, Unix seconds
    failures: int  # failed authentications from the caller's address, this window
    used_recently: bool  # lastUsedAt was written less than a minute ago
    seen_address: bool  # this key+address pair was checked recently


def hot_read(digest: str, *, ip: str | None, count: bool, failures_from: str | None) -> HotRead:
    """Everything a request needs from the cache, in one round trip on Redis.

    Reads only, apart from the rate counter (which expires with its window), so a
    flood of made-up keys cannot fill the cache.
    """
    bucket = rate_bucket(digest)
    window = ratelimit.window_end(bucket, RATE_PERIOD)
    counter = ratelimit.counter_key(bucket, RATE_PERIOD, window) if count else None
    fail_counter = None
    if failures_from is not None:
        _, fail_period = ratelimit.auth_failure_rate()
        fail_bucket = ratelimit.auth_failure_bucket(failures_from)
        fail_window = ratelimit.window_end(fail_bucket, fail_period)
        fail_counter = ratelimit.counter_key(fail_bucket, fail_period, fail_window)
    rec, used, seen = record_key(digest), used_key(digest), seen_key(digest, ip or "-")
    ttl = RATE_PERIOD + ratelimit.EXPIRATION_FUDGE

    client = ratelimit.redis_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        pipe.get(cache.make_key(rec))
        pipe.exists(cache.make_key(used))
        pipe.exists(cache.make_key(seen))
        if counter is not None:
            pipe.incr(cache.make_key(counter))
            pipe.expire(cache.make_key(counter), ttl)
        if fail_counter is not None:
            pipe.get(cache.make_key(fail_counter))
        results = pipe.execute()
        raw, has_used, has_seen = results[0], bool(results[1]), bool(results[2])
        # django-redis's own decoding, so records written with cache.set/add read back.
        record = cache.client.decode(raw) if raw is not None else None  # type: ignore[attr-defined]
        n = int(results[3]) if counter is not None else None
        failures = int(results[-1] or 0) if fail_counter is not None else 0
    else:
        names = [rec, used, seen] + ([fail_counter] if fail_counter is not None else [])
        found = cache.get_many(names)
        record, has_used, has_seen = found.get(rec), used in found, seen in found
        failures = int(found.get(fail_counter, 0)) if fail_counter is not None else 0
        n = None
        if counter is not None:
            n = 1 if cache.add(counter, 1, ttl) else cache.incr(counter)
    if record is not None and record.get("v") != RECORD_VERSION:
        record = None  # written by another version of the code: read the row instead
    return HotRead(record, n, window, failures, has_used, ip is not None and has_seen)


@lru_cache(maxsize=4096)
def _networks(allowed: tuple[str, ...]) -> tuple[Any, ...]:
    # A pure function of immutable input: memoising it keeps no state that
    # could disagree between processes.
    return tuple(ipaddress.ip_network(n, strict=False) for n in allowed)


def ip_allowed(allowed: list[str], ip: str | None) -> bool:
    """Is `ip` inside one of the allowed networks? An empty list allows any address."""
    if not allowed:
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(allowed)))


def now() -> float:
    return time.time()
