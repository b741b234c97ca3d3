"""The shared cache as wallet security needs it: failures are loud.

Nonces and replay markers are security state. If the cache cannot be reached we
must neither accept (a replay could slip through) nor crash with a 500: every
operation here turns a cache failure into `ServiceUnavailable` (503).

Both backends we run make `add` a set-if-absent and `delete` report whether the
key existed, atomically: Redis through SET NX and DEL (which returns a count,
so of many concurrent deleters exactly one sees 1), and the local-memory cache
under its lock. django-redis configured to ignore exceptions would answer None;
callers treat anything but True as "no", so that fails closed too.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache, caches
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from config.errors import ServiceUnavailable

logger = logging.getLogger("gatehouse.wallet")

_CACHE_ERRORS = (RedisError, ConnectionInterrupted, OSError)


def redis_client(backend: Any = None) -> Any | None:
    """The raw Redis client behind the default cache (django-redis), else None."""
    backend = caches["default"] if backend is None else backend
    if not isinstance(backend, RedisCache):
        return None
    return backend.client.get_client(write=True)


def _unavailable(operation: str, exc: Exception) -> ServiceUnavailable:
    logger.error("Shared cache unavailable during %s: %s", operation, exc)
    return ServiceUnavailable("Authentication is temporarily unavailable; try again shortly.")


def add(key: str, value: Any, timeout: int) -> bool:
    """Set `key` only if absent; True when this call set it."""
    try:
        return cache.add(key, value, timeout=timeout) is True
    except _CACHE_ERRORS as exc:
        raise _unavailable("add", exc) from exc


def add_and_get(key: str, value: Any, timeout: int, other: str) -> tuple[bool, Any]:
    """`add(key, ...)` and `get(other)` in one round trip on Redis (a pipeline of
    SET NX EX and GET), two calls elsewhere. The signed-request hot path: the
    replay marker and the wallet's cached principal."""
    try:
        client = redis_client()
        if client is None:
            return cache.add(key, value, timeout=timeout) is True, cache.get(other)
        pipe = client.pipeline(transaction=False)
        pipe.set(cache.make_key(key), cache.client.encode(value), nx=True, ex=timeout)  # type: ignore[attr-defined]
        pipe.get(cache.make_key(other))
        added, raw = pipe.execute()
        return added is True, (None if raw is None else cache.client.decode(raw))  # type: ignore[attr-defined]
    except _CACHE_ERRORS as exc:
        raise _unavailable("add+get", exc) from exc


def take(key: str) -> bool:
    """Delete `key`; True only for the one caller that removed an existing key."""
    try:
        return cache.delete(key) is True
    except _CACHE_ERRORS as exc:
        raise _unavailable("delete", exc) from exc


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
