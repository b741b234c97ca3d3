"""Helpers shared by tests of every app."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

from config import ratelimit

T = TypeVar("T")


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
