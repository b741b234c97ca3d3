"""The suite's own cache keys, and nothing else.

A developer may point REDIS_URL at a Redis that holds other data (their running
server, a colleague's keys). So the suite never FLUSHDBs: every key it writes
starts with a prefix made for this run (tests/conftest.py puts it in the
settings before the cache is first used), and clearing deletes only those keys,
found with SCAN. The local-memory cache belongs to this process and is cleared
whole.
"""

from __future__ import annotations

import uuid

from django.core.cache import caches
from django_redis.cache import RedisCache

# One per run (and per xdist worker, should the suite ever use it).
TEST_CACHE_PREFIX = f"gh-test-{uuid.uuid4().hex[:12]}"


def own_keys(client, prefix: str = TEST_CACHE_PREFIX) -> list[bytes]:
    """Every key in the Redis database that starts with `prefix:`."""
    return list(client.scan_iter(match=f"{prefix}:*", count=1000))


def clear_own_keys(backend=None) -> None:
    """Forget what the tests cached: delete by prefix on Redis, clear locmem."""
    # The backend itself: `django.core.cache.cache` is a proxy, never a RedisCache.
    backend = caches["default"] if backend is None else backend
    if isinstance(backend, RedisCache):
        assert backend.key_prefix == TEST_CACHE_PREFIX, backend.key_prefix
        client = backend.client.get_client(write=True)
        keys = own_keys(client)
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    else:
        backend.clear()
