"""Metering and rate limits under real concurrency: PostgreSQL, Redis, threads and
two server processes. Runs only when DATABASE_URL and REDIS_URL are set."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from billing.services import balance_micros
from tests.billing.helpers import fresh_window, key_bucket
from tests.helpers import in_parallel

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.billing.urls"),
]

WORKERS = 16  # threads; each holds a PostgreSQL connection while it runs
ROOT = Path(__file__).resolve().parents[2]


def test_200_parallel_metered_calls_against_a_balance_for_50(make_key, fund, org, settings):
    settings.ECHO_PRICE_USD = "0.002"
    fund(org, 50 * 2000)
    _, full = make_key(permissions=["chat"], rate_limit=100_000)

    def call(i):
        r = APIClient().post(
            "/api/v1/echo",
            {"message": f"#{i}"},
            format="json",
            headers={"Authorization": f"Bearer {full}"},
        )
        return r.status_code, r.json()

    results = in_parallel(200, call, workers=WORKERS)
    assert Counter(status for status, _ in results) == {200: 50, 402: 150}
    assert all(body["error"]["code"] == "INSUFFICIENT_CREDITS" for s, body in results if s == 402)
    assert balance_micros(organization=org) == 0
    call_command("check_ledger")  # raises CommandError on any mismatch
    assert org.ledger_entries.filter(kind="usage").count() == 50


def test_anonymous_limit_of_10_under_30_parallel_requests(settings):
    settings.ANONYMOUS_RATE = "10/m"
    fresh_window("anon:siwe-nonce:127.0.0.1")
    results = in_parallel(
        30, lambda i: APIClient().get("/api/test/anon-nonce").status_code, workers=WORKERS
    )
    assert Counter(results) == {200: 10, 429: 20}


def test_key_limit_of_10_under_30_parallel_requests(make_key):
    _, full = make_key(permissions=["billing"], rate_limit=10)
    fresh_window(key_bucket(full))

    def call(i):
        r = APIClient().get("/api/v1/credits", headers={"Authorization": f"Bearer {full}"})
        return r.status_code, r["X-RateLimit-Remaining"]

    results = in_parallel(30, call, workers=WORKERS)
    assert Counter(status for status, _ in results) == {200: 10, 429: 20}
    assert sorted(int(left) for status, left in results if status == 200) == list(range(10))


def test_verify_counts_a_key_limit_of_10_under_30_parallel_requests(make_key, fund, org):
    fund(org, 1_000_000)
    _, gateway = make_key(permissions=["verify"], name="gateway", rate_limit=100_000)
    _, full = make_key(rate_limit=10)
    fresh_window(key_bucket(full))

    def call(i):
        r = APIClient().post(
            "/api/v1/keys/verify",
            {"key": full, "cost": "0.001"},
            format="json",
            headers={"Authorization": f"Bearer {gateway}"},
        )
        assert r.status_code == 200
        return r.json()["code"]

    assert Counter(in_parallel(30, call, workers=WORKERS)) == {"VALID": 10, "RATE_LIMITED": 20}
    assert balance_micros(organization=org) == 1_000_000 - 10 * 1000
    call_command("check_ledger")


# --- two server processes ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int) -> subprocess.Popen:
    """A real gunicorn process on the test database and the same Redis."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "SECRET_KEY": "two-servers-test-" + "x" * 40,
        "DEBUG": "0",
        "DB_CONN_MAX_AGE": "0",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _http(method: str, url: str, body: dict | None = None, **headers: str) -> tuple[int, dict]:
    """A plain HTTP call from outside the process (stdlib only): (status, JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _test_database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def _wait_until_up(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server on {port} exited: {process.stderr.read().decode()}")
        try:
            if _http("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    raise AssertionError(f"server on {port} did not answer within 60 s")


@pytest.fixture(scope="module")
def two_servers(django_db_setup):
    """Two gunicorn processes for this module's tests (each request opens its own
    database connection, so the per-test flush of the test database is unhindered)."""
    ports = [_free_port(), _free_port()]
    processes = [_start_server(port) for port in ports]
    try:
        for process, port in zip(processes, ports, strict=True):
            _wait_until_up(process, port)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_two_server_processes_share_one_count(two_servers, make_key, fund, org):
    fund(org, 1_000_000)
    _, gateway = make_key(permissions=["verify"], name="gateway", rate_limit=100_000)
    _, full = make_key(rate_limit=6)
    fresh_window(key_bucket(full), margin=10)
    answers = []
    for i in range(8):
        server = two_servers[i % 2]  # alternate between the two processes
        status, body = _http(
            "POST",
            f"{server}/api/v1/keys/verify",
            {"key": full, "cost": "0.01"},
            Authorization=f"Bearer {gateway}",
        )
        assert status == 200, body
        answers.append((body["code"], body["ratelimit"]["remaining"]))
    assert answers == [
        ("VALID", 5),
        ("VALID", 4),
        ("VALID", 3),
        ("VALID", 2),
        ("VALID", 1),
        ("VALID", 0),
        ("RATE_LIMITED", 0),
        ("RATE_LIMITED", 0),
    ]
    assert balance_micros(organization=org) == 1_000_000 - 6 * 10_000


def test_two_server_processes_share_one_key_counter(two_servers, make_key):
    _, full = make_key(permissions=["billing"], rate_limit=4)
    fresh_window(key_bucket(full), margin=10)
    seen = []
    for i in range(6):
        request = urllib.request.Request(
            f"{two_servers[i % 2]}/api/v1/credits", headers={"Authorization": f"Bearer {full}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, headers = response.status, response.headers
        except urllib.error.HTTPError as exc:
            status, headers = exc.code, exc.headers
        seen.append((status, headers["X-RateLimit-Remaining"], headers.get("Retry-After")))
    assert [(status, left) for status, left, _ in seen] == [
        (200, "3"),
        (200, "2"),
        (200, "1"),
        (200, "0"),
        (429, "0"),
        (429, "0"),
    ]
    assert all(1 <= int(retry) <= 60 for status, _, retry in seen if status == 429)


def test_revocation_on_one_server_process_is_seen_by_the_other(two_servers, make_key):
    key, full = make_key(permissions=["billing", "keys"])
    first, second = two_servers
    auth = {"Authorization": f"Bearer {full}"}
    for server in (first, second):  # both processes have seen (and cached) the key
        status, body = _http("GET", f"{server}/api/v1/credits", **auth)
        assert status == 200, body
    status, body = _http("DELETE", f"{first}/api/v1/api-keys/{key.pk}", **auth)
    assert (status, body["apiKey"]["status"]) == (200, "revoked")
    revoked = {"error": {"code": "UNAUTHORIZED", "message": "API key has been revoked"}}
    assert _http("GET", f"{second}/api/v1/credits", **auth) == (401, revoked)
    assert _http("GET", f"{first}/api/v1/credits", **auth) == (401, revoked)
