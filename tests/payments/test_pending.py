"""A settlement whose receipt does not come in time is `pending`; the
reconcile_payments command finishes it from the chain, crediting once."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.models import LedgerEntry, Payment, PaymentStatus
from billing.reconcile import payments_reconcile
from billing.x402_buyer import payment_header

pytestmark = pytest.mark.django_db(transaction=True)

TEN = 10 * 10**6


def reconcile() -> str:
    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    return out.getvalue()


@pytest.fixture
def held(paying, settings):
    """Transactions wait in the mempool until the test mines them."""
    settings.X402_SETTLE_TIMEOUT_SECONDS = 1
    paying.rpc("evm_setAutomine", False)
    yield paying
    paying.rpc("evm_mine")
    paying.rpc("evm_setAutomine", True)


def test_a_timed_out_settlement_is_pending_then_reconciled_once(api, payer, held):
    before = held.balance(payer.address)
    required = api.post("/api/v1/topup/10", format="json")
    name, value = payment_header(required, required.json(), payer, max_usd="10")
    meta = {"HTTP_" + name.replace("-", "_"): value}

    response = api.post("/api/v1/topup/10", format="json", **meta)

    assert response.status_code == 202, response.json()
    payment = Payment.objects.get()
    assert response.json()["status"] == "pending"
    assert response.json()["balance"] is None
    assert payment.status == PaymentStatus.PENDING
    assert payment.tx_hash and response.json()["transaction"] == payment.tx_hash
    assert LedgerEntry.objects.count() == 0
    assert held.balance(payer.address) == before  # not mined yet

    # A replay while it is pending: refused, nothing sent.
    sent = held.sent_transactions()
    replay = api.post("/api/v1/topup/10", format="json", **meta)
    assert replay.status_code == 409
    assert replay.json()["error"] == {
        "code": "CONFLICT",
        "message": "This payment is already being settled by another request.",
        "details": {"reason": "payment_in_progress"},
    }
    assert held.sent_transactions() == sent

    assert reconcile() == "still pending: 1\n"
    assert LedgerEntry.objects.count() == 0

    held.rpc("evm_mine")
    assert held.balance(payer.address) == before - TEN

    assert reconcile() == "settled: 1\n"
    payment.refresh_from_db()
    entry = LedgerEntry.objects.get()
    assert payment.status == PaymentStatus.SETTLED
    assert payment.ledger_entry_id == entry.pk
    assert (entry.amount_micros, entry.reference) == (TEN, f"x402:{payment.id}")

    assert reconcile() == "No open payments.\n"
    assert LedgerEntry.objects.count() == 1


def test_a_reservation_whose_request_died_is_found_on_chain(api, paying, payer, settings):
    """Settled on chain, but the process died before recording it: no tx hash."""
    from billing.payments import payment_reserve
    from billing.x402 import read_payment, terms

    required = api.post("/api/v1/topup/10", format="json")
    name, value = payment_header(required, required.json(), payer, max_usd="10")

    class Carrier:
        headers = {name: value}

    incoming = read_payment(Carrier(), terms(), TEN)
    payment = payment_reserve(
        incoming=incoming, kind="topup", credit_micros=TEN, beneficiary=payer.address
    )
    from billing.x402 import facilitator

    assert facilitator().settle(incoming.payload, incoming.requirements).success
    # Just reserved: its request may still be settling it.
    assert reconcile() == "in flight: 1\n"

    # Five minutes on (rows are never backdated: the trigger refuses it).
    later = timezone.now() + dt.timedelta(minutes=5)
    assert payments_reconcile(now=later) == Counter({"settled": 1})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SETTLED
    assert payment.tx_hash and paying.w3.eth.get_transaction_receipt(payment.tx_hash)["status"] == 1
    assert LedgerEntry.objects.get().reference == f"x402:{payment.id}"
    assert paying.balance(payer.address) == 990 * 10**6


def test_a_reservation_never_settled_fails_once_expired(api, paying, payer, settings):
    from billing.payments import payment_reserve
    from billing.x402 import read_payment, terms

    required = api.post("/api/v1/topup/10", format="json")
    name, value = payment_header(required, required.json(), payer, max_usd="10")

    class Carrier:
        headers = {name: value}

    payment = payment_reserve(
        incoming=read_payment(Carrier(), terms(), TEN), kind="topup", credit_micros=TEN
    )
    assert payments_reconcile(now=timezone.now() + dt.timedelta(minutes=5)) == Counter(
        {"still pending": 1}
    )  # abandoned, but its authorization may still be valid

    assert payments_reconcile(now=timezone.now() + dt.timedelta(hours=1)) == Counter({"failed": 1})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert LedgerEntry.objects.count() == 0
    assert paying.balance(payer.address) == 1000 * 10**6
