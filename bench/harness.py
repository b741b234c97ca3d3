"""Shared benchmark harness: a real gunicorn on PostgreSQL + Redis, loaded by wrk.

Every benchmark in bench/ uses it so that all rows of one table come from the same
server, database, cache and load generator in the same run. Needs PostgreSQL and
Redis (defaults: the local ones) and `wrk` (Debian package `wrk`).
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/gatehouse_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int

    def row(self, base: Result | None) -> str:
        ratio = f"{self.rps / base.rps:.2f}x" if base and base.rps else "-"
        return (
            f"| {self.name} | {self.rps:,.0f} | {self.p50_ms:.2f} | {self.p99_ms:.2f} | "
            f"{ratio} | {self.non_2xx} |"
        )


TABLE_HEAD = (
    "| variant | requests/s | p50 ms | p99 ms | vs baseline | non-2xx |\n"
    "|---|---:|---:|---:|---:|---:|"
)


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
    """Run Django code in a fresh process (seeding data, making keys)."""
    prelude = "import django; django.setup()\n"
    out = subprocess.run(
        [PYTHON, "-c", prelude + code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{out.stderr}")
    return out.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """A gunicorn with sync workers on a free loopback port; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi",
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
        stderr=subprocess.PIPE,
        text=True,
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
                    raise RuntimeError(f"gunicorn did not start:\n{proc.stderr.read()}") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(
    name: str,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    seconds: int = 10,
    connections: int = 16,
    threads: int = 2,
    script: str | None = None,
) -> Result:
    """Load `url` with wrk on loopback; parse requests/s, p50, p99 and non-2xx."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit("benchmarks load loopback only")
    cmd = ["wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(name, rps, p50, p99, int(bad.group(1)) if bad else 0, total)


def warm(url: str, headers: dict[str, str] | None = None, n: int = 50) -> None:
    """A few requests first, so that every worker has its connections and caches."""
    for _ in range(n):
        req = urllib.request.Request(url, headers=headers or {})
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=5).read()


def lua_rotating_headers(rows: list[dict[str, str]], *, threads: int = 2) -> str:
    """A wrk script that sends each header set once, in turn (single-use signatures).

    `threads` must equal wrk's -t: every wrk thread runs the script in its own Lua
    state, so each takes every threads-th row (else two threads would send the same
    rows). The rows go to a tab-separated data file read in each thread's `init`,
    which keeps the script small for 10^5 rows (the data file is the script's path
    plus ".tsv"; delete both when done). A thread that runs out of rows
    starts over, and its repeats show up as non-2xx: send more rows than requests.
    """
    if not rows or len(rows) < threads:
        raise ValueError(f"need at least {threads} rows, one per wrk thread")
    names = list(rows[0])
    for row in rows:
        values = [row[name] for name in names]
        if list(row) != names or any(not v or any(c in v for c in "\t\r\n") for v in values):
            raise ValueError("rows need the same header names and non-empty one-line values")
    fd, path = tempfile.mkstemp(suffix=".lua")
    data_path = path + ".tsv"
    with open(data_path, "w") as f:
        f.write("\t".join(names) + "\n")
        f.writelines("\t".join(row[name] for name in names) + "\n" for row in rows)
    script = f"""
local nthreads = {threads}
local datafile = "{data_path}"
local next_id = 0
local rows = {{}}
local i = 0

-- Runs in wrk's main Lua state, once per thread: number the threads.
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

-- Runs in each thread's own state: keep this thread's share of the rows.
function init(args)
  local f = assert(io.open(datafile, "r"))
  local names = {{}}
  for name in f:read("*l"):gmatch("[^\\t]+") do names[#names + 1] = name end
  local n = 0
  for line in f:lines() do
    if n % nthreads == tid then
      local row, k = {{}}, 1
      for value in line:gmatch("[^\\t]+") do
        row[names[k]] = value
        k = k + 1
      end
      rows[#rows + 1] = row
    end
    n = n + 1
  end
  f:close()
end

request = function()
  i = i + 1
  local row = rows[((i - 1) % #rows) + 1]
  for k, v in pairs(row) do wrk.headers[k] = v end
  return wrk.format(nil)
end
"""
    with os.fdopen(fd, "w") as f:
        f.write(script)
    return path
