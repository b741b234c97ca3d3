"""Exactly once across processes: 20 parallel replays of one payment (its v2
and its v1 form) against two gunicorn processes on PostgreSQL and Redis settle
once on chain and credit once."""

from __future__ import annotations

import base64
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
from django.db import connection

from billing.models import LedgerEntry, Payment, PaymentStatus
from billing.x402_buyer import payment_header
from tests.helpers import in_parallel

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
TEN = 10 * 10**6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _test_database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


class Answer:
    def __init__(self, status: int, headers, body: bytes):
        self.status_code, self.headers = status, headers
        self.body = json.loads(body or b"null")

    def get(self, name):
        return self.headers.get(name)


def post(url: str, headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(
        url,
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers, exc.read())


@pytest.fixture(scope="module")
def paid_servers(django_db_setup, chain, tmp_path_factory):
    env = {
        **os.environ,
        **chain.settings(),
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "SECRET_KEY": "paid-servers-test-" + "x" * 40,
        "DEBUG": "0",
        "DB_CONN_MAX_AGE": "0",
    }
    ports = [_free_port(), _free_port()]
    # Each server's log in a file, not a pipe nobody reads (a full pipe would stall
    # the workers); a failed assertion below shows them (Servers.log_text).
    logs = [(tmp_path_factory.mktemp("paid-server") / "stderr.log").open("w+") for _ in ports]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "8",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        for process, port in zip(processes, ports, strict=True):
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise AssertionError(Path(logs[ports.index(port)].name).read_text())
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                        break
                except OSError:
                    assert time.monotonic() < deadline, f"server on {port} did not start"
                    time.sleep(0.2)
        yield Servers([f"http://127.0.0.1:{port}" for port in ports], logs)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


class Servers(list):
    """The servers' base URLs, and their logs for a failure's message."""

    def __init__(self, urls: list[str], logs: list) -> None:
        super().__init__(urls)
        self.logs = logs

    def log_text(self) -> str:
        return "\n".join(Path(log.name).read_text()[-3000:] for log in self.logs)


def test_parallel_replays_of_one_payment_settle_once(paid_servers, chain):
    payer = chain.funded_account()
    before_payer, before_recipient = chain.balance(payer.address), chain.balance(chain.pay_to)
    required = post(f"{paid_servers[0]}/api/v1/topup/10")
    assert required.status_code == 402
    _, v2 = payment_header(required, required.body, payer, max_usd="10")
    signed = json.loads(base64.b64decode(v2))["payload"]
    v1_network = required.body["accepts"][0]["network"]
    v1 = base64.b64encode(
        json.dumps(
            {"x402Version": 1, "scheme": "exact", "network": v1_network, "payload": signed}
        ).encode()
    ).decode()
    sent = chain.sent_transactions()

    def replay(i: int) -> tuple[int, str]:
        header = {"PAYMENT-SIGNATURE": v2} if i % 2 else {"X-PAYMENT": v1}
        answer = post(f"{paid_servers[i % 4 // 2]}/api/v1/topup/10", header)
        if answer.status_code == 200:
            return 200, answer.body["status"]
        return answer.status_code, answer.body["error"]["details"]["reason"]

    answers = Counter(in_parallel(20, replay, workers=20))

    assert answers[(200, "settled")] == 1, answers
    refusals = set(answers) - {(200, "settled")}
    assert refusals <= {
        (409, "payment_in_progress"),
        (402, "payment_already_used"),
        (402, "invalid_exact_evm_nonce_already_used"),
    }, (answers, paid_servers.log_text())
    assert sum(answers.values()) == 20
    assert chain.sent_transactions() == sent + 1
    assert chain.balance(payer.address) == before_payer - TEN
    assert chain.balance(chain.pay_to) == before_recipient + TEN
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SETTLED
    assert LedgerEntry.objects.filter(reference=f"x402:{payment.id}").count() == 1
    assert LedgerEntry.objects.count() == 1
