"""POST /api/v1/topup/<amount> paid on the local chain with the SDK's own client."""

from __future__ import annotations

import pytest
from eth_account import Account

from accounts.models import User
from billing.models import EntryKind, LedgerEntry, Payment, PaymentStatus
from billing.x402_buyer import payment_header, settlement
from tests.payments.chain import decode

pytestmark = pytest.mark.django_db(transaction=True)

TEN_USDC = 10 * 10**6


def test_no_payment_is_a_402_with_both_forms_of_the_requirements(api, paying):
    response = api.post("/api/v1/topup/10", format="json")

    assert response.status_code == 402
    body = response.json()
    assert body["error"] == {
        "code": "PAYMENT_REQUIRED",
        "message": "Pay with x402 to top up.",
        "details": {"reason": "payment_required"},
    }
    expected = {
        "scheme": "exact",
        "asset": paying.config["X402_ASSET"],
        "payTo": paying.pay_to,
        "maxTimeoutSeconds": 300,
        "extra": {"name": "USD Coin", "version": "2"},
    }
    assert body["x402Version"] == 1
    (v1,) = body["accepts"]
    assert v1 == {
        **expected,
        "network": paying.config["X402_NETWORK"],  # no v1 name for this chain id
        "maxAmountRequired": str(TEN_USDC),
        "resource": "http://testserver/api/v1/topup/10",
        "description": "10 USD of Gatehouse credits",
        "mimeType": "application/json",
    }
    v2 = decode(response["PAYMENT-REQUIRED"])
    assert v2["x402Version"] == 2
    assert v2["accepts"] == [
        {**expected, "network": paying.config["X402_NETWORK"], "amount": str(TEN_USDC)}
    ]
    assert v2["resource"]["url"] == "http://testserver/api/v1/topup/10"
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("version", [2, 1])
def test_a_payment_settles_on_chain_and_credits_the_payer_once(api, paying, payer, version):
    before_payer, before_recipient = paying.balance(payer.address), paying.balance(paying.pay_to)
    required = api.post("/api/v1/topup/10", format="json")
    name, value = payment_header(required, required.json(), payer, max_usd="10", version=version)

    response = api.post("/api/v1/topup/10", format="json", **{f"HTTP_{_meta(name)}": value})

    assert response.status_code == 200, response.json()
    body = response.json()
    payment = Payment.objects.get()
    user = User.objects.get(wallet_address=payer.address)
    org = user.memberships.get().organization
    assert body == {
        "paymentId": str(payment.id),
        "status": "settled",
        "amount": "10.000000",
        "balance": "10.000000",  # no sign-up bonus for an account a payment made
        "organizationId": str(org.pk),
        "payer": payer.address,
        "network": paying.config["X402_NETWORK"],
        "transaction": payment.tx_hash,
    }
    header = "PAYMENT-RESPONSE" if version == 2 else "X-PAYMENT-RESPONSE"
    assert header in response
    assert settlement(response) == {
        "success": True,
        "payer": payer.address,
        "transaction": payment.tx_hash,
        "network": paying.config["X402_NETWORK"],
    }
    receipt = paying.w3.eth.get_transaction_receipt(payment.tx_hash)
    assert receipt["status"] == 1
    assert paying.balance(payer.address) == before_payer - TEN_USDC
    assert paying.balance(paying.pay_to) == before_recipient + TEN_USDC
    assert payment.status == PaymentStatus.SETTLED
    assert payment.x402_version == version
    assert (payment.payer, payment.amount_atomic, payment.credit_micros) == (
        payer.address,
        TEN_USDC,
        10_000_000,
    )
    entry = LedgerEntry.objects.get()
    assert payment.ledger_entry_id == entry.pk
    assert (entry.kind, entry.amount_micros, entry.reference, entry.organization_id) == (
        EntryKind.TOPUP,
        10_000_000,
        f"x402:{payment.id}",
        org.pk,
    )

    # The same header again: refused before anything is broadcast.
    sent = paying.sent_transactions()
    again = api.post("/api/v1/topup/10", format="json", **{f"HTTP_{_meta(name)}": value})
    assert again.status_code == 402
    assert again.json()["error"]["details"] == {"reason": "invalid_exact_evm_nonce_already_used"}
    assert paying.sent_transactions() == sent
    assert LedgerEntry.objects.count() == 1
    assert Payment.objects.count() == 1
    assert paying.balance(payer.address) == before_payer - TEN_USDC


def test_wallet_address_in_the_body_is_credited(api, paying, payer):
    beneficiary = Account.create().address
    required = api.post("/api/v1/topup/50", format="json")
    name, value = payment_header(required, required.json(), payer, max_usd="50")

    response = api.post(
        "/api/v1/topup/50",
        {"walletAddress": beneficiary.lower()},
        format="json",
        **{f"HTTP_{_meta(name)}": value},
    )

    assert response.status_code == 200, response.json()
    org = User.objects.get(wallet_address=beneficiary).memberships.get().organization
    assert response.json()["organizationId"] == str(org.pk)
    assert response.json()["balance"] == "50.000000"
    assert not User.objects.filter(wallet_address=payer.address).exists()
    assert paying.balance(payer.address) == 950 * 10**6


def test_a_signed_in_caller_is_credited(api, paying, payer, make_key, org):
    _, key = make_key()
    api.credentials(HTTP_X_API_KEY=key)
    required = api.post("/api/v1/topup/10", format="json")
    name, value = payment_header(required, required.json(), payer, max_usd="10")

    response = api.post("/api/v1/topup/10", format="json", **{f"HTTP_{_meta(name)}": value})

    assert response.status_code == 200, response.json()
    assert response.json()["organizationId"] == str(org.pk)
    assert Payment.objects.get().organization_id == org.pk
    assert LedgerEntry.objects.get().organization_id == org.pk
    assert not User.objects.filter(wallet_address=payer.address).exists()
    assert paying.balance(payer.address) == 990 * 10**6


def test_no_recipient_is_a_503(api, paying, settings):
    settings.X402_PAY_TO = ""

    response = api.post("/api/v1/topup/10", format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert response.json()["error"]["details"] == {"reason": "no_recipient"}


def test_an_amount_not_offered_is_a_404(api, paying):
    response = api.post("/api/v1/topup/11", format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def _meta(header: str) -> str:
    return header.upper().replace("-", "_")


def test_anonymous_callers_are_limited_per_address(api, paying, settings):
    settings.ANONYMOUS_RATE = "3/m"
    statuses = [api.post("/api/v1/topup/10", format="json").status_code for _ in range(4)]

    assert statuses == [402, 402, 402, 429]
