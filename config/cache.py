"""The shared cache (Redis in production): the only raw Redis access, and the
three policies for when it cannot be reached. Never a 500 under any of them:

1. Rate counters fail open (`counter_unavailable`): RATE_LIMIT_FAIL_OPEN true
   (the default) lets the request through and logs at ERROR, because a rate
   limit is not worth an outage; false answers 503 SERVICE_UNAVAILABLE.
2. Security state fails closed (`add`, `add_and_get`, `take`, `get`, `put`):
   nonces and replay markers must neither be accepted (a replay could slip
   through) nor crash, so every failure is `ServiceUnavailable` (503).
3. The API-key cache falls back to the database (`key_cache_unavailable`): the
   row is the truth, so the check reads it and the request goes on.

Both backends we run make `add` a set-if-absent and `delete` report whether the
key existed, atomically: Redis through SET NX and DEL (which returns a count,
so of many concurrent deleters exactly one sees 1), and the local-memory cache
under its lock. django-redis configured to ignore exceptions would answer None;
callers treat anything but True as "no", so that fails closed too.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import NoScriptError, RedisError

from config.errors import ServiceUnavailable

logger = logging.getLogger("gatehouse.cache")
ratelimit_logger = logging.getLogger("gatehouse.ratelimit")
keys_logger = logging.getLogger("gatehouse.apikeys")

_CACHE_ERRORS = (RedisError, ConnectionInterrupted, OSError)


def redis_client(backend: Any = None) -> Any | None:
    """The raw Redis client behind the default cache (django-redis), else None."""
    backend = caches["default"] if backend is None else backend
    if not isinstance(backend, RedisCache):
        return None
    return backend.client.get_client(write=True)


def decode(raw: bytes) -> Any:
    """A value read raw from Redis, decoded as django-redis wrote it."""
    return caches["default"].client.decode(raw)


def read_and_count(
    names: list[str],
    counter: str | None,
    ttl: int,
    also_count: tuple[str, int] | None = None,
) -> tuple[list[Any], int | None, bool]:
    """The API-key hot path's one round trip: the values under `names`, and
    `counter` incremented (given its expiry `ttl` on the window's first hit).

    Returns (values, count, raw): on Redis one script (MGET, INCR), and the values
    are the raw bytes (`raw` True: `decode` them, or memoise on the bytes);
    elsewhere decoded values. A missing name is None. `also_count` (name, ttl): a
    second counter incremented in the same round trip, given `ttl` when new. Cache
    errors propagate: the caller applies policy 3.
    """
    backend = caches["default"]  # resolved once: each `cache.` goes through a proxy
    if not isinstance(backend, RedisCache):  # (run_script takes Redis's client below)
        found = backend.get_many(names)
        n = None
        if counter is not None:
            n = 1 if backend.add(counter, 1, ttl) else backend.incr(counter)
        if also_count is not None and not backend.add(also_count[0], 1, also_count[1]):
            backend.incr(also_count[0])
        return [found.get(name) for name in names], n, False
    # One script rather than a pipeline of MGET and INCRs: a pipeline costs
    # redis-py ~20 µs more CPU per call than one command, the script costs Redis
    # ~5 µs more (bench/redis_round_trip.py), and the window's first hit sets the
    # counter's expiry in the same round trip instead of a second one.
    keys = list(names)
    args: list[Any] = [len(names), "", ""]
    if counter is not None:
        keys.append(counter)
        args[1] = ttl
    if also_count is not None:
        keys.append(also_count[0])
        args[2] = also_count[1]
    reply = run_script(_READ_AND_COUNT, keys, args)
    n = int(reply[-1]) if counter is not None else None
    return reply[: len(names)], n, True


# KEYS: the names to read (ARGV[1] of them), then the rate counter when ARGV[2] is
# its expiry, then the second counter when ARGV[3] is its. Returns the values read
# and, last, the rate counter's count (false when not counted).
_READ_AND_COUNT = """
local reads = tonumber(ARGV[1])
local out = redis.call('MGET', unpack(KEYS, 1, reads))
local at, n = reads + 1, false
if ARGV[2] ~= '' then
  n = redis.call('INCR', KEYS[at])
  if n == 1 then redis.call('EXPIRE', KEYS[at], ARGV[2]) end
  at = at + 1
end
if ARGV[3] ~= '' and redis.call('INCR', KEYS[at]) == 1 then
  redis.call('EXPIRE', KEYS[at], ARGV[3])
end
out[reads + 1] = n
return out
"""


def incr_counter(key: str, period: int) -> int:
    """Count one hit on a fixed-window counter that lives `period` seconds (the
    first hit sets its expiry). Cache errors propagate: the caller applies policy 1."""
    client = redis_client()
    if client is not None:
        raw = cache.make_key(key)
        count = int(client.incr(raw))
        if count == 1:  # the window's first hit sets its expiry
            client.expire(raw, period)
        return count
    if cache.add(key, 1, period):
        return 1
    return cache.incr(key)


def counter_unavailable() -> None:
    """Policy 1, after a rate counter could not be read or written: return (let
    the request through, logged) or raise ServiceUnavailable, per RATE_LIMIT_FAIL_OPEN."""
    if not settings.RATE_LIMIT_FAIL_OPEN:
        ratelimit_logger.error(
            "Rate-limit counter unavailable; refusing the request", exc_info=True
        )
        raise ServiceUnavailable("Rate limiting is unavailable; try again shortly.")
    ratelimit_logger.error(
        "Rate-limit counter unavailable; letting the request through", exc_info=True
    )


def key_cache_unavailable() -> None:
    """Policy 3, after the key cache failed: log it; the caller reads the database."""
    keys_logger.exception("Cache unavailable while checking an API key; using the database")


def _unavailable(operation: str, exc: Exception) -> ServiceUnavailable:
    logger.error("Shared cache unavailable during %s: %s", operation, exc)
    return ServiceUnavailable("Authentication is temporarily unavailable; try again shortly.")


def add(key: str, value: Any, timeout: int) -> bool:
    """Set `key` only if absent; True when this call set it."""
    try:
        return cache.add(key, value, timeout=timeout) is True
    except _CACHE_ERRORS as exc:
        raise _unavailable("add", exc) from exc


_CLAIM_GET_COUNT = """
local added = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
local other = redis.call('GET', KEYS[2])
local n = false
if added and other then
  n = redis.call('INCR', KEYS[3])
  if n == 1 then redis.call('EXPIRE', KEYS[3], ARGV[3]) end
end
return {added and 1 or 0, other, n}
"""


def add_and_get(
    key: str,
    value: Any,
    timeout: int,
    other: str,
    *,
    counter: str | None = None,
    counter_timeout: int = 0,
) -> tuple[bool, Any, int | None]:
    """`add(key, ...)` and `get(other)` in one round trip on Redis, two calls
    elsewhere; and, when `key` was added and `other` is present, INCR of `counter`
    (its first count sets its expiry) in the same round trip: (added, other's value,
    the count or None). The signed-request hot path: the replay marker, the wallet's
    cached principal and its rate counter, counted only for a fresh signature of a
    known wallet."""
    try:
        client = redis_client()
        if client is None:
            added = cache.add(key, value, timeout=timeout) is True
            return added, cache.get(other), None
        if counter is None:
            pipe = client.pipeline(transaction=False)
            pipe.set(cache.make_key(key), cache.client.encode(value), nx=True, ex=timeout)  # type: ignore[attr-defined]
            pipe.get(cache.make_key(other))
            added, raw = pipe.execute()
            count = None
        else:
            added, raw, count = run_script(
                _CLAIM_GET_COUNT,
                [key, other, counter],
                [cache.client.encode(value), timeout, counter_timeout],  # type: ignore[attr-defined]
            )
        decoded = None if raw is None else cache.client.decode(raw)  # type: ignore[attr-defined]
        return bool(added), decoded, count
    except _CACHE_ERRORS as exc:
        raise _unavailable("add+get", exc) from exc


def take(key: str) -> bool:
    """Delete `key`; True only for the one caller that removed an existing key."""
    try:
        if redis_client() is None:
            # The local-memory cache's delete() removes an expired entry it has not
            # yet evicted and reports it present: has_key() evicts it first, so an
            # expired nonce is refused on this backend too (Redis expires on its own).
            cache.has_key(key)
        return cache.delete(key) is True
    except _CACHE_ERRORS as exc:
        raise _unavailable("delete", exc) from exc


_ADD_THEN_TAKE = """
local added = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
if not added then return {0, 0} end
return {1, redis.call('DEL', KEYS[2])}
"""


def add_then_take(key: str, value: Any, timeout: int, other: str) -> tuple[bool, bool]:
    """`add(key, ...)` and, only when this call added it, `take(other)`: (added,
    taken), atomically in one round trip on Redis (a script), as the two calls
    elsewhere. The SIWE nonce's one use: its used-marker, then the issued nonce."""
    try:
        if redis_client() is None:
            if not add(key, value, timeout):
                return False, False
            return True, take(other)
        added, taken = run_script(
            _ADD_THEN_TAKE,
            [key, other],
            [cache.client.encode(value), timeout],  # type: ignore[attr-defined]
        )
        return bool(added), bool(taken)
    except _CACHE_ERRORS as exc:
        raise _unavailable("add+take", exc) from exc


def get(key: str) -> Any:
    try:
        return cache.get(key)
    except _CACHE_ERRORS as exc:
        raise _unavailable("get", exc) from exc


def put(key: str, value: Any, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except _CACHE_ERRORS as exc:
        raise _unavailable("set", exc) from exc


def forget(*keys: str) -> None:
    """Best-effort invalidation (signal handlers): a failure is logged, not raised,
    because the entries expire by themselves and a save must not fail for it."""
    try:
        cache.delete_many(list(keys))
    except _CACHE_ERRORS as exc:
        logger.error("Shared cache unavailable; could not drop %s: %s", keys, exc)


# --- scripts: several reads and writes in one round trip ---------------------------

_scripts: dict[str, Any] = {}  # Lua source -> redis-py Script (its SHA1, nothing stateful)


def run_script(source: str, keys: list[str], args: list[Any]) -> Any:
    """Run a Lua script on the default cache's Redis in one round trip (EVALSHA,
    EVAL once when Redis has not seen it). `keys` are cache names, made into Redis
    keys as django-redis makes them (prefix, version). Errors propagate: the
    caller applies its own failure policy. Raises LookupError without Redis.

    redis-py's `evalsha` is called directly: calling the Script object costs an
    import and tuple copies on every call (a few µs on the verify and signed-request
    hot paths); the Script, which loads the source and retries, runs only when
    Redis answers NOSCRIPT (restarted or flushed)."""
    backend = caches["default"]
    client = redis_client(backend)
    if client is None:
        raise LookupError("no Redis behind the default cache")
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = client.register_script(source)
    redis_keys = [backend.make_key(k) for k in keys]
    try:
        return client.evalsha(script.sha, len(redis_keys), *redis_keys, *args)
    except NoScriptError:
        return script(keys=redis_keys, args=args, client=client)


_SET_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+):'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1
"""


def set_if_newer(name: str, version: int, value: str, timeout: int) -> bool:
    """Store "version:value" under `name` unless a version at least as new is there
    (Redis only; atomic). Values published after commits in any order end as the
    newest one. Errors propagate."""
    return bool(run_script(_SET_IF_NEWER, [name], [version, value, timeout]))


def versioned(raw: bytes | None) -> tuple[int, str] | None:
    """(version, value) of a set_if_newer entry read raw, else None."""
    if raw is None:
        return None
    version, _, value = raw.decode().partition(":")
    return int(version), value
