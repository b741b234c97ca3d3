"""Cache settings for tests that need the cache watched or gone.

RECORDING: a local-memory cache that records every call made to it, so a test
can assert that a code path did no cache I/O (`assert accesses() == []`). It does
not raise: an exception could be swallowed by the code's own error handling and
the test would never know. CLOSED_PORT_REDIS: a real Redis client pointed at a
port nothing listens on, for "the cache is down" paths.
"""

from __future__ import annotations

from django.core.cache.backends.locmem import LocMemCache

_CALLS = frozenset(
    {
        "add",
        "get",
        "set",
        "touch",
        "delete",
        "get_many",
        "set_many",
        "delete_many",
        "incr",
        "decr",
        "has_key",
        "clear",
        "get_or_set",
        "make_key",
    }
)
_ACCESSES: list[str] = []


class RecordingCache(LocMemCache):
    def __getattribute__(self, name):
        if name in _CALLS:
            _ACCESSES.append(name)
        return super().__getattribute__(name)


def accesses() -> list[str]:
    """The cache calls recorded since the last reset()."""
    return list(_ACCESSES)


def reset() -> None:
    _ACCESSES.clear()


RECORDING = {"default": {"BACKEND": "tests.caches.RecordingCache", "LOCATION": "recording"}}

CLOSED_PORT_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }
}
