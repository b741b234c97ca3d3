"""The key record in the shared cache, and the one round trip of the hot path.

A record is a small dict under the key's digest (never the key): everything the
authentication needs, so a warm request makes no database query. Writers never
merely delete it: after a change commits they *overwrite* it with the new state
(`publish`), and readers that filled it from the database use `add`, which
never overwrites. So a request that read the row just before a revocation
cannot put the old "valid" record back over the revoked one; revocation takes
effect on every process at the next request.

On Redis one script (config.cache.read_and_count: MGET of the record, the
caller's failed-authentication count and the usage guards; INCR of the key's
rate and usage counters) is the whole cost of a warm request: one round trip, no
database query, and no write but the counters. The decoded record is memoised per process by its
exact bytes, which is safe because any change to a record changes its bytes.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache

from accounts.principal import AuthMethod, Principal
from config import cache as shared_cache
from config import ratelimit

RECORD_VERSION = 1
RATE_PERIOD = 60  # per-key limits are per minute
USED_GUARD_SECONDS = 60  # lastUsedAt is written at most once a minute per key
SEEN_GUARD_SECONDS = 86400  # a key+address pair is checked against the audit trail daily
# A usage counter nobody has moved to the table yet (a made-up key's) is gone soon;
# a valid key's is kept this long, from its last move (apikeys.usage).
USAGE_NEW_SECONDS = 120
USAGE_KEEP_SECONDS = 86400
# The "known digest" marker (known_key) lives until the key expires, at most this long.
KNOWN_MAX_SECONDS = 366 * 86400


def record_key(digest: str) -> str:
    return f"apikey:rec:{digest}"


def used_key(digest: str) -> str:
    return f"apikey:used:{digest}"


def seen_key(digest: str, ip: str) -> str:
    return f"apikey:seen:{digest}:{ip}"


def known_key(digest: str) -> str:
    """A marker that this digest belongs to a key (valid or not, never what it may
    do): it outlives the record so that a locked-out address can still have a real
    key looked up (SPEC §4); it can only ever grant a database lookup."""
    return f"apikey:known:{digest}"


def usage_key(digest: str) -> str:
    """Requests made with this secret, ever increasing (apikeys.usage moves them into
    the per-day table)."""
    return f"apikey:usage:{digest}"


def usage_mark_key(digest: str) -> str:
    """How much of usage_key(digest) is already in the per-day table."""
    return f"apikey:usage-mark:{digest}"


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


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What a check learned about an existing key (no secret, no digest)."""

    key_id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID | None
    environment: str
    permissions: frozenset[str]
    rate_limit: int
    expires_at: datetime
    hint: str
    # The counter this key's uses count against (its current secret's, also while
    # an old secret is in its grace period): for callers that count later, such as
    # the remote verify endpoint, which counts only once the permissions pass.
    rate_bucket: str = ""

    def principal(self) -> Principal:
        return Principal(
            method=AuthMethod.API_KEY,
            organization_id=self.organization_id,
            user_id=self.user_id,
            rate_limit=self.rate_limit,
            environment=self.environment,
            permissions=self.permissions,
            key_id=self.key_id,
            key_hint=self.hint,
        )


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A cached record, decoded once into immutable values."""

    info: KeyInfo
    principal: Principal
    expires: float  # Unix seconds
    revoked: bool
    until: float | None  # a replaced secret: end of its grace period (0: none)
    allowed_ips: tuple[str, ...]
    counter_digest: str  # whose rate counter this use counts against


def parse_record(data: dict[str, Any]) -> KeyRecord | None:
    """The record as values; None when another version of the code wrote it."""
    if not isinstance(data, dict) or data.get("v") != RECORD_VERSION:
        return None
    info = KeyInfo(
        key_id=uuid.UUID(data["id"]),
        organization_id=uuid.UUID(data["org"]),
        user_id=uuid.UUID(data["user"]) if data["user"] else None,
        environment=data["env"],
        permissions=frozenset(data["perms"]),
        rate_limit=data["rl"],
        expires_at=datetime.fromtimestamp(data["exp"], tz=UTC),
        hint=data["hint"],
        rate_bucket=rate_bucket(data["ctr"]),
    )
    return KeyRecord(
        info=info,
        principal=info.principal(),
        expires=data["exp"],
        revoked=data["rev"],
        until=data.get("until"),
        allowed_ips=tuple(data["ips"]),
        counter_digest=data["ctr"],
    )


@lru_cache(maxsize=2048)
def record_from_bytes(raw: bytes) -> KeyRecord | None:
    # A pure function of the cached bytes (any change to a record changes them), so
    # memoising it keeps nothing that could go stale; it saves the unpickling and
    # UUID parsing on every warm request.
    return parse_record(shared_cache.decode(raw))


def publish(records: dict[str, dict[str, Any]]) -> None:
    """Overwrite the cached records after a change has committed (revoke, regenerate, ...)."""
    cache.set_many(
        {record_key(d): r for d, r in records.items()}, timeout=settings.API_KEY_CACHE_SECONDS
    )
    for digest, record in records.items():
        mark_known(digest, expires=record["exp"])


def mark_known(digest: str, *, expires: float) -> None:
    """Remember that `digest` is a key's, until the key expires (Unix seconds)."""
    ttl = int(expires - time.time())
    if ttl > 0:
        cache.set(known_key(digest), 1, timeout=min(ttl, KNOWN_MAX_SECONDS))


def fill(digest: str, record: dict[str, Any]) -> None:
    """Cache a record read from the database; never overwrites a published one."""
    cache.add(record_key(digest), record, timeout=settings.API_KEY_CACHE_SECONDS)
    mark_known(digest, expires=record["exp"])


def forget(digests: list[str]) -> None:
    """Drop records whose derived values changed (a plan's rate limit)."""
    cache.delete_many([record_key(d) for d in digests])


def add_guard(name: str, seconds: int) -> bool:
    """Set a guard unless present; True for the one caller that set it."""
    return bool(cache.add(name, 1, timeout=seconds))


@dataclass(frozen=True, slots=True)
class HotRead:
    record: KeyRecord | None  # None: not cached (or written by another code version)
    count: int | None  # this request's number in the digest's rate window (None: not counted)
    window: int  # end of that window, Unix seconds
    failures: int  # failed authentications from the caller's address, this window
    used_recently: bool  # lastUsedAt was written less than a minute ago
    seen_address: bool  # this key+address pair was checked recently
    known: bool = False  # the digest is marked as a key's (see known_key)


@dataclass(frozen=True, slots=True)
class HotNames:
    """The cache entries of one request's key check."""

    record: str
    used: str
    seen: str
    failures: str | None  # the caller address's failed-authentication counter
    counter: str  # the presented digest's rate counter in the current window
    window: int


def hot_names(digest: str, *, ip: str | None, failures_from: str | None) -> HotNames:
    bucket = rate_bucket(digest)
    window = ratelimit.window_end(bucket, RATE_PERIOD)
    fail_counter = None
    if failures_from is not None:
        _, fail_period = ratelimit.auth_failure_rate()
        fail_bucket = ratelimit.auth_failure_bucket(failures_from)
        fail_window = ratelimit.window_end(fail_bucket, fail_period)
        fail_counter = ratelimit.counter_key(fail_bucket, fail_period, fail_window)
    return HotNames(
        record_key(digest),
        used_key(digest),
        seen_key(digest, ip or "-"),
        fail_counter,
        ratelimit.counter_key(bucket, RATE_PERIOD, window),
        window,
    )


def hot_from_raw(
    names: HotNames, ip: str | None, raw: Any, used: Any, seen: Any, failures: Any, n: Any
) -> HotRead:
    """A HotRead from raw Redis replies (a pipeline's or a script's)."""
    # django-redis's own decoding, so records written with cache.set/add read back.
    record = record_from_bytes(raw) if raw is not None else None
    return HotRead(
        record,
        int(n) if n is not None else None,
        names.window,
        int(failures or 0) if names.failures is not None else 0,
        used is not None,
        ip is not None and seen is not None,
    )


def hot_read(digest: str, *, ip: str | None, count: bool, failures_from: str | None) -> HotRead:
    """Everything a request needs from the cache, in one round trip on Redis.

    Reads only, apart from the rate counter (which expires with its window), so a
    flood of made-up keys cannot fill the cache.
    """
    names = hot_names(digest, ip=ip, failures_from=failures_from)
    counter = names.counter if count else None
    ttl = RATE_PERIOD + ratelimit.EXPIRATION_FUDGE
    wanted = [names.record, names.used, names.seen, known_key(digest)]
    if names.failures is not None:
        wanted.append(names.failures)

    # The usage counter rides in the same round trip (counted with the rate).
    usage = (usage_key(digest), USAGE_NEW_SECONDS) if counter is not None else None
    values, n, raw = shared_cache.read_and_count(wanted, counter, ttl, also_count=usage)
    cached, has_used, has_seen, has_known, *rest = values
    if cached is None:
        record = None
    elif raw:
        record = record_from_bytes(cached)
    else:
        record = parse_record(cached)
    failures = int(rest[0] or 0) if names.failures is not None else 0
    return HotRead(
        record,
        n,
        names.window,
        failures,
        has_used is not None,
        ip is not None and has_seen is not None,
        known=has_known is not None,
    )


@lru_cache(maxsize=4096)
def _networks(allowed: tuple[str, ...]) -> tuple[Any, ...]:
    # A pure function of immutable input: memoising it keeps no state that
    # could disagree between processes.
    return tuple(ipaddress.ip_network(n, strict=False) for n in allowed)


def ip_allowed(allowed: tuple[str, ...], ip: str | None) -> bool:
    """Is `ip` inside one of the allowed networks? An empty list allows any address."""
    if not allowed:
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(allowed))


def now() -> float:
    return time.time()
