"""The official JS client (@x402/fetch + @x402/evm + viem), unmodified, pays a
top-up against a live server on the local chain. Runs when Node is installed
(scripts/install_js_client.sh fetches the pinned npm packages into .js-client/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from billing.models import LedgerEntry, Payment, PaymentStatus

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the JS client cannot run"),
]


@pytest.fixture(scope="module")
def js_client():
    subprocess.run([str(ROOT / "scripts" / "install_js_client.sh")], check=True, timeout=300)
    return ROOT / ".js-client"


def test_the_js_client_pays_a_top_up(js_client, live_server, paying, payer):
    before = paying.balance(payer.address)
    url = f"{live_server.url}/api/v1/topup/10"

    run = subprocess.run(
        [
            NODE,
            "topup.mjs",
            url,
            paying.config["X402_NETWORK"],
            paying.config["X402_ASSET"],
            str(10 * 10**6),
        ],
        cwd=js_client,
        env={**os.environ, "X402_PAYER_KEY": "0x" + payer.key.hex().removeprefix("0x")},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    payment = Payment.objects.get()
    assert answer["status"] == 200
    assert answer["body"]["balance"] == "10.000000"
    assert answer["body"]["paymentId"] == str(payment.id)
    assert answer["paymentResponse"]["success"] is True
    assert answer["paymentResponse"]["transaction"] == payment.tx_hash
    assert payment.status == PaymentStatus.SETTLED and payment.x402_version == 2
    assert LedgerEntry.objects.get().reference == f"x402:{payment.id}"
    assert paying.balance(payer.address) == before - 10 * 10**6
