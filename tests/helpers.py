"""Helpers shared by tests of every app."""

import json
import os
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from django.core.cache import cache
from django.db import connections

from apikeys import keycache, keyformat
from config import ratelimit
from tests.caches import CLOSED_PORT_REDIS  # noqa: F401  (one copy; imported from here by tests)

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]


def run_python(
    *args: str,
    drop: Iterable[str] = ("DATABASE_URL", "REDIS_URL"),
    timeout: float = 120,
    **env: str,
) -> subprocess.CompletedProcess:
    """`python *args` in a fresh process, in the repository root, output captured.

    Settings are read once per process, so a test of start-up or of the environment
    needs its own. The process inherits this one's environment without `drop`
    (by default the services: it runs on SQLite and local memory, never touching
    the suite's test database), plus `env`.
    """
    dropped = set(drop)
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rate_limited(response, *, message: str | None = None, limit: int | None = None) -> int:
    """Assert that `response` is a 429 in the error envelope; returns its Retry-After.

    Retry-After is a whole number of seconds in 1..60 (every limit the tests set is
    per minute). `message`, when given, is the exact error message, where `{wait}`
    stands for the Retry-After value and `{seconds}` for "second" or "seconds" as
    DRF words it. `limit`, when given, is the X-RateLimit-Limit the response must
    carry, with nothing remaining.
    """
    assert response.status_code == 429, (response.status_code, response.content)
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60, wait
    body = json.loads(response.content)
    if message is None:
        assert list(body) == ["error"] and body["error"]["code"] == "RATE_LIMITED", body
        assert set(body["error"]) <= {"code", "message", "details"}, body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    else:
        seconds = "second" if wait == 1 else "seconds"
        expected = message.format(wait=wait, seconds=seconds)
        assert body == {"error": {"code": "RATE_LIMITED", "message": expected}}, body
    if limit is not None:
        assert (response["X-RateLimit-Limit"], response["X-RateLimit-Remaining"]) == (
            str(limit),
            "0",
        )
    return wait


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


def expected_window_end(bucket: str, period: int = 60, now: float | None = None) -> int:
    """When the bucket's current window ends (X-RateLimit-Reset), computed here.

    django-ratelimit staggers fixed windows per bucket so that they do not all roll
    over at once: the edge is offset from the period's multiples by
    crc32(bucket) % period seconds. Written out in the test so that a change of the
    formula in config.ratelimit shows up as a failure. Call it inside the window the
    request was counted in (fresh_window first).
    """
    t = int(time.time() if now is None else now)
    offset = zlib.crc32(bucket.encode()) % period
    start = t - (t % period) + offset  # an edge in this period, maybe already passed
    return start if start > t else start + period


def key_bucket(full_key: str) -> str:
    """The rate bucket of a key (what KeyInfo.rate_bucket names)."""
    return keycache.rate_bucket(keyformat.digest(full_key))


def failure_window(ip: str = "127.0.0.1") -> None:
    """A fresh AUTH_FAILURE_RATE window for `ip` (the test client's address)."""
    _, period = ratelimit.auth_failure_rate()
    fresh_window(ratelimit.auth_failure_bucket(ip), period=period)


def in_parallel(count: int, call: Callable[[int], T], *, workers: int | None = None) -> list[T]:
    """call(i) for i in range(count) on threads that start together; results in order.

    At most `workers` threads (default: one per call), each holding its own database
    connection, which it closes when done (the test database is dropped later). An
    exception in a call fails the test, so callables that expect one catch it.
    """
    workers = min(workers or count, count)
    start = threading.Barrier(workers)

    def task(i: int) -> T:
        if i < workers:
            start.wait()
        try:
            return call(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(task, range(count)))


def cache_ttl(key: str) -> float | None:
    """Seconds `key` has left in the default cache, read from the cache itself
    (Redis: TTL; local memory: its expiry table); None when it never expires.
    Lets a test assert the lifetime the code stored, on both backends."""
    if hasattr(cache, "pttl"):  # django-redis
        ttl = cache.pttl(key)
        assert ttl != 0, f"{key} is not in the cache"
        return None if ttl is None else ttl / 1000
    expires = cache._expire_info.get(cache.make_key(key))  # LocMemCache
    assert expires is not None or cache.make_key(key) in cache._cache, f"{key} is not in the cache"
    return None if expires is None else expires - time.time()


def assert_plain_check_agrees(plain: Callable, serializer_class: type, body: object) -> None:
    """A hot path's plain body check (`plain(body)`: the validated data, or None to
    defer) accepts only what its serializer accepts, and makes the same of it."""
    fast = plain(body)
    serializer = serializer_class(data=body)
    valid = serializer.is_valid()
    if fast is not None:
        assert valid, serializer.errors
        assert fast == dict(serializer.validated_data)
