"""`gatehouse-wallet topup` against a live server paying on the local chain
(tests/payments/fixtures.py): the command line's x402 buyer, end to end."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from accounts.models import User
from billing.models import LedgerEntry, Payment, PaymentStatus
from tests.wallet.helpers import run_cli

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def key_file(tmp_path, payer):
    """The funded payer's key as the wallet's key file."""
    path = tmp_path / "payer.key"
    path.write_text(payer.key.hex() + "\n")
    return path


def org_of(address: str):
    return User.objects.get(wallet_address=address).memberships.get().organization


def test_topup_pays_on_chain_and_prints_the_balance(server, paying, payer, key_file):
    before, recipient = paying.balance(payer.address), paying.balance(paying.pay_to)

    first = run_cli("topup", server, "10", key_file=key_file)
    second = run_cli("topup", server, "50", key_file=key_file)

    # A payment makes the payer's account without the sign-up bonus; the second
    # top-up prints the balance, not the amount.
    assert (first.returncode, first.stdout, first.stderr) == (0, "10.000000\n", "")
    assert (second.returncode, second.stdout, second.stderr) == (0, "60.000000\n", "")
    payments = list(Payment.objects.order_by("created_at"))
    assert [(p.status, p.payer, p.x402_version) for p in payments] == [
        (PaymentStatus.SETTLED, payer.address, 2)
    ] * 2
    assert {p.organization_id for p in payments} == {org_of(payer.address).pk}
    assert sorted(LedgerEntry.objects.values_list("reference", "amount_micros")) == sorted(
        [(f"x402:{payments[0].id}", 10_000_000), (f"x402:{payments[1].id}", 50_000_000)]
    )
    assert paying.balance(payer.address) == before - 60 * 10**6
    assert paying.balance(paying.pay_to) == recipient + 60 * 10**6


def test_topup_for_another_wallet_with_v1_prints_the_whole_answer(server, paying, payer, key_file):
    friend = Account.create().address

    paid = run_cli("topup", server, "50", "--for", friend, "--v1", "--json", key_file=key_file)

    assert (paid.returncode, paid.stderr) == (0, "")
    payment = Payment.objects.get()
    assert json.loads(paid.stdout) == {
        "paymentId": str(payment.id),
        "status": "settled",
        "amount": "50.000000",
        "balance": "50.000000",
        "organizationId": str(org_of(friend).pk),
        "payer": payer.address,
        "network": paying.config["X402_NETWORK"],
        "transaction": payment.tx_hash,
    }
    assert payment.x402_version == 1
    assert not User.objects.filter(wallet_address=payer.address).exists()


def test_topup_refusals_say_why_and_change_nothing(server, paying, payer, key_file, tmp_path):
    before, sent = paying.balance(payer.address), paying.sent_transactions()
    url = f"{server}/api/v1/topup"

    above = run_cli("topup", server, "10", "--max-usd", "9.99", key_file=key_file)
    odd = run_cli("topup", server, "7", key_file=key_file)
    bad_ceiling = run_cli("topup", server, "10", "--max-usd", "lots", key_file=key_file)
    broke_file = tmp_path / "broke.key"
    broke_file.write_text(Account.create().key.hex() + "\n")
    broke = run_cli("topup", server, "10", key_file=broke_file)

    assert (above.returncode, above.stdout, above.stderr) == (
        1,
        "",
        "gatehouse-wallet: not paying: asked for 10000000 atomic units, more than 9.99 USD\n",
    )
    assert (odd.returncode, odd.stderr) == (
        1,
        f"gatehouse-wallet: POST {url}/7: expected a 402 asking for payment, got 404 "
        "NOT_FOUND: Top-ups are 10, 50, 100 USD.\n",
    )
    assert bad_ceiling.returncode == 2
    assert bad_ceiling.stderr.endswith(
        "gatehouse-wallet topup: error: argument --max-usd: not an amount of USD: 'lots'\n"
    )
    assert (broke.returncode, broke.stdout) == (1, "")
    assert broke.stderr == (
        f"gatehouse-wallet: POST {url}/10: 402 PAYMENT_REQUIRED: "
        "The payer's token balance is too low for this payment.\n"
    )
    assert Payment.objects.filter(status=PaymentStatus.SETTLED).count() == 0
    assert LedgerEntry.objects.count() == 0
    assert (paying.balance(payer.address), paying.sent_transactions()) == (before, sent)


def test_topup_without_payments_configured_is_the_servers_503(server, settings, tmp_path):
    settings.X402_PAY_TO = ""
    key_file = tmp_path / "wallet.key"
    key_file.write_text(Account.create().key.hex() + "\n")

    refused = run_cli("topup", server, "10", key_file=key_file)

    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        f"gatehouse-wallet: POST {server}/api/v1/topup/10: expected a 402 asking for payment, "
        "got 503 SERVICE_UNAVAILABLE: Payments are not configured on this server (no recipient).\n"
    )
    assert Payment.objects.count() == 0
