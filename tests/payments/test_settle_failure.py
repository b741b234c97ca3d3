"""A settlement that fails after verification passed: 402 with the facilitator's
reason, the record failed, nothing credited, no second transfer."""

from __future__ import annotations

import pytest

from billing.models import LedgerEntry, Payment, PaymentKind, PaymentStatus
from billing.payments import payment_reserve, payment_settle, payment_verify
from billing.x402 import PaymentRefused, facilitator, read_payment, terms
from billing.x402_buyer import payment_header

pytestmark = pytest.mark.django_db(transaction=True)

TEN = 10 * 10**6


def test_an_authorization_used_elsewhere_between_verify_and_settle(api, paying, payer):
    required = api.post("/api/v1/topup/10", format="json")
    name, value = payment_header(required, required.json(), payer, max_usd="10")

    class Carrier:
        headers = {name: value}

    incoming = read_payment(Carrier(), terms(), TEN)
    payment_verify(incoming=incoming)
    # Someone else submits the same authorization first (it is public once sent).
    assert facilitator().settle(incoming.payload, incoming.requirements).success
    sent = paying.sent_transactions()
    payment = payment_reserve(
        incoming=incoming, kind=PaymentKind.TOPUP, credit_micros=TEN, beneficiary=payer.address
    )

    with pytest.raises(PaymentRefused) as refused:
        payment_settle(payment=payment, incoming=incoming)

    assert refused.value.status_code == 402
    assert refused.value.details == {"reason": "invalid_exact_evm_nonce_already_used"}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason.startswith("invalid_exact_evm_nonce_already_used")
    assert LedgerEntry.objects.count() == 0
    assert paying.sent_transactions() == sent  # simulated, never broadcast
    assert paying.balance(payer.address) == 990 * 10**6  # the one transfer only
    assert Payment.objects.count() == 1
