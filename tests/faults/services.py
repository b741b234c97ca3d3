"""Private PostgreSQL, Redis and gunicorn for the fault tests, started and broken here.

Nothing here touches the machine's shared PostgreSQL or Redis: each service gets
its own temporary directory and a free loopback port. PostgreSQL refuses to run
as root, so when the tests run as root its commands run as the `postgres` OS
user (runuser), in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PYTHON = sys.executable
# Slow, shared CI machines: starting things may take a while; breaking them may not.
START_TIMEOUT = 120


class MissingTool(RuntimeError):
    """A program the fault tests need is not installed: a failure, never a skip."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require(path: str | Path) -> str:
    found = shutil.which(str(path))
    if not found:
        raise MissingTool(f"{path} is not installed (the fault tests need it)")
    return found


def _wait(check, what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")
        time.sleep(0.1)


class Postgres:
    """A PostgreSQL cluster of our own: initdb + pg_ctl in a temporary directory."""

    def __init__(self, base: Path):
        self.dir = base / "pg"
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.running = False
        for tool in ("initdb", "pg_ctl", "pg_dump", "pg_restore"):
            require(PG_BIN / tool)

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> str:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = [require("runuser"), "-u", "postgres", "--", *command]
        out = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.dir, check=False
        )
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def init(self) -> None:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
            # Durability against a crash of the machine is not what these tests
            # look at (a stop is a clean shutdown); commits are still synchronous.
            " -c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "90",
                  "-o", options, "start")  # fmt: skip
        self.running = True
        _wait(lambda: self.sql("SELECT 1") == [(1,)], "PostgreSQL")

    def stop(self, mode: str = "fast") -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "90", "stop")
        self.running = False

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, params=(), db: str = "postgres"):
        with psycopg.connect(self.url(db), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else None

    def create_db(self, name: str, template: str | None = None) -> str:
        suffix = f' TEMPLATE "{template}"' if template else ""
        self.sql(f'CREATE DATABASE "{name}"{suffix}')
        return self.url(name)

    def dump(self, db: str) -> Path:
        """pg_dump in the custom format (what docs/operations.md tells operators),
        into our directory (the postgres OS user writes it)."""
        path = self.dir / f"{db}.dump"
        self._run(PG_BIN / "pg_dump", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres",
                  "-Fc", "-f", path, db)  # fmt: skip
        return path

    def dump_text(self, db: str) -> bytes:
        """Every row of every table as plain SQL text (to search it)."""
        path = self.dir / f"{db}.sql"
        self._run(PG_BIN / "pg_dump", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres",
                  "--data-only", "-f", path, db)  # fmt: skip
        return path.read_bytes()

    def restore(self, path: Path, db: str) -> None:
        self._run(PG_BIN / "pg_restore", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres",
                  "--exit-on-error", "--no-owner", "-d", db, path)  # fmt: skip

    def destroy(self) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                self.stop("immediate")


class Redis:
    """A redis-server of our own. Append-only file with fsync on every write, so
    replay markers and used nonces survive a SIGKILL (docs/reliability.md)."""

    def __init__(self, base: Path):
        self.dir = base / "redis"
        self.dir.mkdir(parents=True)
        self.port = free_port()
        self.binary = require("redis-server")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.dir / "redis.log", "a")  # noqa: SIM115 (kept open by the server)
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        _wait(lambda: client.ping(), "redis-server")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def destroy(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def server_env(*, database_url: str, redis_url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment of a private gunicorn (and of manage.py run against its data)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="faults-" + "x" * 50,
        DEBUG="0",
        APP_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=START_TIMEOUT,
    )  # fmt: skip
    if check and out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out


ACCESS_FORMAT = '%(p)s %(s)s "%(r)s" %({x-request-id}o)s'


class Gunicorn:
    """A real gunicorn (sync workers) on a free loopback port, logging to files."""

    def __init__(self, env: dict[str, str], *, port: int, workers: int = 2, logdir: Path):
        self.env, self.port, self.workers = env, port, workers
        self.logdir = logdir
        self.log = logdir / f"gunicorn-{port}.log"
        self.access_log = logdir / f"access-{port}.log"
        self.proc: subprocess.Popen | None = None
        require(Path(PYTHON).parent / "gunicorn")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log, "a")  # noqa: SIM115 (kept open by the server)
        self.proc = subprocess.Popen(
            # --preload: one import in the master, forked workers boot (and replace a
            # killed one) at once instead of importing Django each on a busy machine.
            [PYTHON, "-m", "gunicorn", "config.wsgi", "--preload", "--workers", str(self.workers),
             "--bind", f"127.0.0.1:{self.port}", "--timeout", "60", "--graceful-timeout", "30",
             "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

        def healthy() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as r:
                return r.status == 200

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if healthy():
                    break
            except RuntimeError:
                raise
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"gunicorn did not answer /healthz:\n{self.tail()}"
                    ) from None
                time.sleep(0.2)
        _wait(lambda: len(self.worker_pids()) == self.workers, "gunicorn workers")

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                # After the parenthesised command (which may hold spaces): state, ppid.
                state, ppid = stat.rsplit(")", 1)[1].split()[:2]
                if int(ppid) == self.proc.pid and state != "Z":
                    pids.append(int(entry.name))
        return sorted(pids)

    def rss_kib(self) -> dict[int, int]:
        sizes = {}
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes[pid] = int(line.split()[1])
        return sizes

    def signal_worker(self, pid: int, sig: int) -> None:
        """Signal one worker, then wait until the master has replaced it."""
        os.kill(pid, sig)
        _wait(
            lambda: pid not in (pids := self.worker_pids()) and len(pids) == self.workers,
            f"a replacement for worker {pid}",
        )

    def stop(self, timeout: float = 40) -> int | None:
        """Graceful: SIGTERM to the master, which lets in-flight requests finish."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=10)
        self.proc = None
        return code

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text()[-chars:] if self.log.exists() else ""

    def served_by(self) -> dict[str, int]:
        """request id -> pid of the worker that answered it (from the access log)."""
        if not self.access_log.exists():
            return {}
        served = {}
        for line in self.access_log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                served[fields[-1]] = int(fields[0].strip("<>"))
        return served
