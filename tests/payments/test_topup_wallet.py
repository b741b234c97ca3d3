"""A top-up carrying valid wallet signature headers credits the signer's
organization, not the payer's nor the body's walletAddress."""

from __future__ import annotations

import pytest
from eth_account import Account

from accounts.models import User
from billing.models import LedgerEntry, Payment
from billing.x402_buyer import payment_header
from tests.wallet.helpers import wallet_headers

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_signer_is_credited(api, paying, payer):
    signer = Account.create()
    required = api.post("/api/v1/topup/10", format="json")
    name, value = payment_header(required, required.json(), payer, max_usd="10")
    signed = wallet_headers(signer, method="POST", path="/api/v1/topup/10")

    response = api.post(
        "/api/v1/topup/10",
        {"walletAddress": Account.create().address},
        format="json",
        headers={**signed, name: value},
    )

    assert response.status_code == 200, response.json()
    org = User.objects.get(wallet_address=signer.address).memberships.get().organization
    payment = Payment.objects.get()
    assert response.json()["organizationId"] == str(org.pk)
    assert payment.organization_id == org.pk
    assert LedgerEntry.objects.get(reference=f"x402:{payment.id}").organization_id == org.pk
    assert User.objects.count() == 1  # neither the payer nor walletAddress got an account
    assert paying.balance(payer.address) == 990 * 10**6


def test_bad_wallet_headers_are_a_401_and_nothing_is_paid(api, paying, payer):
    required = api.post("/api/v1/topup/10", format="json")
    name, value = payment_header(required, required.json(), payer, max_usd="10")
    signed = wallet_headers(Account.create(), method="POST", path="/api/v1/other")
    sent = paying.sent_transactions()

    response = api.post("/api/v1/topup/10", format="json", headers={**signed, name: value})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert Payment.objects.count() == 0
    assert paying.sent_transactions() == sent
    assert paying.balance(payer.address) == 1000 * 10**6
