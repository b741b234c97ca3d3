"""Run by tests/config/test_own_cache.py in a pytest of its own (not collected
by the suite: the file name does not start with test_)."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.cache import cache
from django_redis import get_redis_connection

from config import ratelimit
from tests.own_cache import TEST_CACHE_PREFIX, own_keys


def test_writes_to_the_shared_cache():
    Path(os.environ["PROBE_OUT"]).write_text(TEST_CACHE_PREFIX)
    cache.set("probe", "written by a test")
    ratelimit.hit("probe-bucket", limit=5)
    assert len(own_keys(get_redis_connection("default"))) == 2
