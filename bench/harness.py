"""Shared benchmark harness: a real gunicorn on PostgreSQL + Redis, loaded by wrk.

Every benchmark in bench/ uses it so that all rows of one table come from the same
servers, database, cache and load generator in the same run. Needs PostgreSQL and
Redis (defaults: the local ones) and `wrk` (Debian package `wrk`).

Rows are never trusted on their status codes alone: every wrk run carries a Lua
`response` hook (bench/lua.py) that checks each answer's body for the text the
row expects, and a row with a single wrong answer is reported as failed. The
servers' stderr goes to a file, never to a pipe nobody reads (a failing row
logging tracebacks would fill the pipe and freeze the workers).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/gatehouse_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
# Where the servers' stderr goes (one file per server, named in the run's output).
LOG_DIR = Path(os.environ.get("BENCH_LOG_DIR", tempfile.gettempdir()))


@dataclass
class Result:
    """One wrk run of one row."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int
    ok: int = 0  # answers whose body held the expected text
    bad: int = 0  # answers that did not (non-2xx included)
    sample: str = ""  # the first bad answer, status and the start of its body
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.bad or self.problems)


def bench_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("BENCH_DATABASE_URL", DEFAULT_DB)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.benchsite.settings",
        DATABASE_URL=env["BENCH_DATABASE_URL"],
        REDIS_URL=env.get("BENCH_REDIS_URL", DEFAULT_REDIS),
        SECRET_KEY="bench-" + "x" * 50,
        DEBUG="0",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def ensure_database(env: dict[str, str]) -> None:
    """Create the benchmark database if missing, then migrate it."""
    import psycopg

    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url, dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    django_admin(env, "migrate", "--no-input", "-v0")


def settle_database(env: dict[str, str], *, wait: float = 30.0) -> str:
    """Let PostgreSQL finish digesting a load test before a latency sample: a
    CHECKPOINT (the dirty pages the wrk rows left are written now, not during the
    sample) and up to `wait` seconds for running autovacuum workers. Returns what
    it did, for the log: a single sequential request is timed, and a sample
    taken while the database still writes out the last row's thousands of
    inserts measures that, not the request."""
    import psycopg

    start = time.monotonic()
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        busy = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
        while conn.execute(busy).fetchone()[0] and time.monotonic() - start < wait:
            time.sleep(0.2)
        vacuuming = conn.execute(busy).fetchone()[0]
    spent = time.monotonic() - start
    return f"checkpoint + {vacuuming} autovacuum workers still running after {spent:.1f} s"


def django_admin(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def run_python(env: dict[str, str], code: str) -> str:
    """Run Django code in a fresh process (seeding data, making keys, counting rows)."""
    prelude = "import django; django.setup()\n"
    out = subprocess.run(
        [PYTHON, "-c", prelude + code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{out.stderr}")
    return out.stdout


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU seconds so far, from /proc (0 once it has
    exited): what the servers under load spent, for CPU-per-request figures."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], workers: int = 2, *, app: str = "config.wsgi", label: str = "server"
) -> Iterator[str]:
    """A gunicorn with sync workers on a free loopback port; yields its base URL.

    Its stderr is drained to a file in LOG_DIR (printed when the server stops), so a
    row whose requests fail loudly cannot block the workers on a full pipe.
    """
    port = free_port()
    log_path = LOG_DIR / f"bench-{label}-{port}.stderr.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed in `finally`)
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            app,
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--keep-alive",
            "5",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"gunicorn did not start:\n{log_path.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        size = log_path.stat().st_size
        print(f"[{label} stderr: {log_path}, {size:,} bytes]", file=sys.stderr)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(
    name: str,
    url: str,
    *,
    script: str,
    seconds: int = 10,
    connections: int = 16,
    threads: int = 2,
) -> Result:
    """Load `url` with wrk on loopback; parse requests/s, p50, p99, non-2xx and the
    body check of `script` (made by bench.lua.script, which every row uses)."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit("benchmarks load loopback only")
    cmd = ["wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    check = re.search(r"^BODYCHECK ok=(\d+) bad=(\d+)$", out, re.M)
    sample = re.search(r"^BODYSAMPLE (.*)$", out, re.M)
    result = Result(
        name,
        rps,
        p50,
        p99,
        int(bad.group(1)) if bad else 0,
        total,
        ok=int(check.group(1)) if check else 0,
        bad=int(check.group(2)) if check else total,
        sample=sample.group(1) if sample else "",
    )
    if not check:
        result.problems.append("the wrk script reported no body check")
    return result


def warm(url: str, headers: dict[str, str] | None = None, n: int = 50, **kw) -> None:
    """A few requests first, so that every worker has its connections and caches."""
    for _ in range(n):
        req = urllib.request.Request(url, headers=headers or {}, **kw)
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=5).read()
