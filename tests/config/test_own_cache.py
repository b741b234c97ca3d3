"""The suite deletes only its own keys from the Redis it is pointed at (issue 10)."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from tests.helpers import run_python
from tests.own_cache import TEST_CACHE_PREFIX, own_keys


@pytest.mark.concurrency  # needs the Redis of REDIS_URL; runs in the services pass
def test_a_test_run_leaves_keys_outside_its_prefix_alone(tmp_path):
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    mark = uuid.uuid4().hex
    # A server using the default prefix, and something that is not ours at all.
    outside = {f"gh:1:someone-elses-{mark}": b"theirs", f"unrelated-{mark}": b"also theirs"}
    for key, value in outside.items():
        client.set(key, value, ex=300)
    probe_out = tmp_path / "prefix"
    try:
        run = run_python(  # SQLite, not our test db; the Redis of REDIS_URL
            *("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/config/cache_probe.py"),
            drop=("DATABASE_URL",),
            PROBE_OUT=str(probe_out),
        )
        assert run.returncode == 0, run.stdout + run.stderr
        child_prefix = probe_out.read_text()
        assert child_prefix.startswith("gh-test-") and child_prefix != TEST_CACHE_PREFIX
        assert {key: client.get(key) for key in outside} == outside
        assert own_keys(client, child_prefix) == []  # it cleaned up after itself
    finally:
        client.delete(*outside)
