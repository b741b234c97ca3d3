"""Private services for the fault tests (tests/faults/services.py).

One PostgreSQL cluster and one redis-server per session, both our own; each test
gets a fresh database cloned from a migrated template, its own Redis database
index and its own gunicorn. A missing redis-server, initdb/pg_ctl or gunicorn
fails the tests (MissingTool), it never skips them.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis

from tests.faults import services
from tests.faults.services import ROOT, Gunicorn, Postgres, Redis, free_port, manage, server_env

TEMPLATE = "gh_faults_template"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def fault_dir():
    # In memory when the machine has it: a Redis with `appendfsync always` on a busy
    # disk stalls past its clients' 1 s timeout. A killed process leaves its files
    # there all the same, which is the durability these tests look at.
    shm = Path("/dev/shm")
    where = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    base = Path(tempfile.mkdtemp(prefix="gh-faults-", dir=where))
    base.chmod(0o755)  # the postgres OS user must reach its directory inside
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def private_redis(fault_dir):
    redis = Redis(fault_dir)
    redis.start()
    yield redis
    redis.destroy()


@pytest.fixture(scope="session")
def private_pg(fault_dir):
    pg = Postgres(fault_dir)
    pg.init()
    pg.start()
    try:
        pg.create_db(TEMPLATE)
        env = server_env(database_url=pg.url(TEMPLATE), redis_url="", port=1)
        env.pop("REDIS_URL")
        manage(env, "migrate", "--no-input", "-v0")
        yield pg
    finally:
        pg.destroy()


class Stack:
    """One test's database, Redis index and gunicorn on the private services."""

    def __init__(self, pg: Postgres, redis: Redis, logdir: Path):
        n = next(_numbers)
        self.pg, self.redis, self.logdir = pg, redis, logdir
        self.db = f"gh_faults_{n}"
        self.redis_db = n % 16
        pg.create_db(self.db, template=TEMPLATE)
        self.port = free_port()
        self.servers: list[Gunicorn] = []
        # Load from one address: the per-address and free-plan limits would
        # refuse most of it. Tests that count rate limits use keys' own limits.
        self.extra: dict[str, str] = {
            "ANONYMOUS_RATE": "100000/m",
            "PLAN_FREE_RATE_LIMIT": "100000",
        }

    def env(self, **extra: str) -> dict[str, str]:
        return server_env(
            database_url=self.pg.url(self.db),
            redis_url=self.redis.url(self.redis_db),
            port=self.port,
            **{**self.extra, **extra},
        )

    def seed(self, spec: dict) -> dict:
        out = subprocess.run(
            [services.PYTHON, "-m", "tests.faults.seed", json.dumps(spec)],
            env=self.env(), cwd=ROOT, capture_output=True, text=True,
            timeout=services.START_TIMEOUT,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"seeding failed:\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def gunicorn(self, workers: int = 2, port: int | None = None, **extra: str) -> Gunicorn:
        """A gunicorn on this stack's port (or `port`); `extra` overrides the environment."""
        port = port or self.port
        env = self.env(**extra)
        env["APP_URL"] = f"http://127.0.0.1:{port}"
        server = Gunicorn(env, port=port, workers=workers, logdir=self.logdir)
        server.start()
        self.servers.append(server)
        return server

    def check_ledger(self) -> subprocess.CompletedProcess:
        return manage(self.env(), "check_ledger", check=False)

    def sql(self, statement: str, params=()):
        return self.pg.sql(statement, params, db=self.db)

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")
            for path in sorted(self.logdir.glob("*.log"))
            if path.is_file()
        )

    def close(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def stack(private_pg, private_redis, tmp_path):
    # A test that failed half way may have left a service down: bring it back.
    if private_redis.proc is None:
        private_redis.start()
    if not private_pg.running:
        private_pg.start()
    made = Stack(private_pg, private_redis, tmp_path)
    redis.Redis(port=private_redis.port, db=made.redis_db).flushdb()
    yield made
    made.close()
