"""The suite deletes only its own keys from the Redis it is pointed at (issue 10)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from tests.own_cache import TEST_CACHE_PREFIX, own_keys

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.concurrency  # needs the Redis of REDIS_URL; runs in the services pass
def test_a_test_run_leaves_keys_outside_its_prefix_alone(tmp_path):
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    mark = uuid.uuid4().hex
    # A server using the default prefix, and something that is not ours at all.
    outside = {f"gh:1:someone-elses-{mark}": b"theirs", f"unrelated-{mark}": b"also theirs"}
    for key, value in outside.items():
        client.set(key, value, ex=300)
    probe_out = tmp_path / "prefix"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # SQLite, not our test db
    env["PROBE_OUT"] = str(probe_out)
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/config/cache_probe.py",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        child_prefix = probe_out.read_text()
        assert child_prefix.startswith("gh-test-") and child_prefix != TEST_CACHE_PREFIX
        assert {key: client.get(key) for key in outside} == outside
        assert own_keys(client, child_prefix) == []  # it cleaned up after itself
    finally:
        client.delete(*outside)
