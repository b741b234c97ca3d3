"""Bad payments: a 402 (or 400) in the envelope with the reason; nothing
recorded, nothing credited, nothing broadcast."""

from __future__ import annotations

import base64

import pytest
from eth_account import Account

from billing.models import LedgerEntry, Payment
from tests.payments.chain import sign_authorization, v1_header, v2_header

pytestmark = pytest.mark.django_db(transaction=True)

TEN = 10 * 10**6


def accepted(chain, **changes):
    base = {
        "scheme": "exact",
        "network": chain.config["X402_NETWORK"],
        "asset": chain.config["X402_ASSET"],
        "amount": str(TEN),
        "payTo": chain.pay_to,
        "maxTimeoutSeconds": 300,
        "extra": {"name": "USD Coin", "version": "2"},
    }
    return {**base, **changes}


def refused(api, chain, payer, headers, *, status=402):
    sent = chain.sent_transactions()
    balance = chain.balance(payer.address)
    response = api.post("/api/v1/topup/10", format="json", **headers)
    assert response.status_code == status, response.json()
    body = response.json()
    assert body["error"]["code"] == ("PAYMENT_REQUIRED" if status == 402 else "CONFLICT")
    if status == 402:
        assert body["x402Version"] == 1 and len(body["accepts"]) == 1
        assert "PAYMENT-REQUIRED" in response
    assert Payment.objects.count() == 0
    assert LedgerEntry.objects.count() == 0
    assert chain.sent_transactions() == sent
    assert chain.balance(payer.address) == balance
    return body["error"]["details"]["reason"], body["error"]["message"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("HTTP_PAYMENT_SIGNATURE", "not base64!", "malformed_payment_header"),
        ("HTTP_X_PAYMENT", b64("{not json"), "malformed_payment_header"),
        ("HTTP_PAYMENT_SIGNATURE", b64("[1, 2]"), "invalid_payload"),
        ("HTTP_PAYMENT_SIGNATURE", b64('{"x402Version": 2, "hello": 1}'), "invalid_payload"),
        ("HTTP_X_PAYMENT", b64('{"x402Version": 1}'), "invalid_payload"),
        ("HTTP_PAYMENT_SIGNATURE", b64('{"x402Version": "2"}'), "version_mismatch"),
        (
            "HTTP_PAYMENT_SIGNATURE",
            base64.b64encode(b"\xff{}").decode(),
            "malformed_payment_header",
        ),
        ("HTTP_X_PAYMENT", "A" * 20_000, "malformed_payment_header"),
    ],
)
def test_not_a_payment(api, paying, payer, header, value, reason):
    assert refused(api, paying, payer, {header: value})[0] == reason


def test_a_v2_payload_in_the_v1_header_and_back(api, paying, payer):
    signed = sign_authorization(payer, paying, to=paying.pay_to, value=TEN)
    v2 = v2_header(signed, accepted(paying))
    v1 = v1_header(signed, paying.config["X402_NETWORK"])

    assert refused(api, paying, payer, {"HTTP_X_PAYMENT": v2})[0] == "version_mismatch"
    assert refused(api, paying, payer, {"HTTP_PAYMENT_SIGNATURE": v1})[0] == "version_mismatch"
    both = {"HTTP_X_PAYMENT": v1, "HTTP_PAYMENT_SIGNATURE": v2}
    assert refused(api, paying, payer, both)[0] == "multiple_payment_headers"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"payTo": Account.create().address}, "recipient_mismatch"),
        ({"asset": Account.create().address}, "asset_mismatch"),
        ({"amount": str(TEN - 1)}, "amount_mismatch"),
        ({"network": "eip155:8453"}, "network_mismatch"),
        ({"scheme": "upto"}, "scheme_mismatch"),
    ],
)
def test_requirements_that_do_not_match(api, paying, payer, changes, reason):
    signed = sign_authorization(payer, paying, to=paying.pay_to, value=TEN)
    header = v2_header(signed, accepted(paying, **changes))

    assert refused(api, paying, payer, {"HTTP_PAYMENT_SIGNATURE": header})[0] == reason


def test_an_unknown_v1_network(api, paying, payer):
    signed = sign_authorization(payer, paying, to=paying.pay_to, value=TEN)

    got = refused(api, paying, payer, {"HTTP_X_PAYMENT": v1_header(signed, "base")})
    assert got[0] == "network_mismatch"


SIGNATURE = "The authorization's signature is not the payer's for this token and chain."


@pytest.mark.parametrize(
    ("sign", "reason", "message"),
    [
        # The authorization itself says otherwise than the (matching) requirements.
        (
            dict(to=Account.create().address),
            "invalid_exact_evm_payload_recipient_mismatch",
            "The authorization pays someone other than this server's recipient.",
        ),
        (
            dict(value=TEN - 1),
            "invalid_exact_evm_payload_authorization_value_mismatch",
            "The authorization's value is not the amount required.",
        ),
        (
            dict(valid_before=1),
            "invalid_exact_evm_payload_authorization_valid_before",
            "The authorization has expired (or expires too soon); sign a new one.",
        ),
        (
            dict(valid_after=4_000_000_000),
            "invalid_exact_evm_payload_authorization_valid_after",
            "The authorization is not valid yet.",
        ),
        (dict(signer=Account.create()), "invalid_exact_evm_payload_signature", SIGNATURE),
        (dict(chain_id=1), "invalid_exact_evm_payload_signature", SIGNATURE),
    ],
)
def test_authorizations_that_do_not_pay_what_is_asked(api, paying, payer, sign, reason, message):
    args = {"to": paying.pay_to, "value": TEN, **sign}
    signed = sign_authorization(payer, paying, **args)

    got = refused(
        api, paying, payer, {"HTTP_PAYMENT_SIGNATURE": v2_header(signed, accepted(paying))}
    )
    assert got == (reason, message)


def test_a_payer_without_funds(api, paying):
    poor = Account.create()
    signed = sign_authorization(poor, paying, to=paying.pay_to, value=TEN)
    header = v2_header(signed, accepted(paying))

    assert refused(api, paying, poor, {"HTTP_PAYMENT_SIGNATURE": header}) == (
        "invalid_exact_evm_insufficient_balance",
        "The payer's token balance is too low for this payment.",
    )


def test_a_bad_wallet_address_is_a_400_before_any_payment(api, paying, payer):
    signed = sign_authorization(payer, paying, to=paying.pay_to, value=TEN)
    sent = paying.sent_transactions()

    response = api.post(
        "/api/v1/topup/10",
        {"walletAddress": "0x123"},
        format="json",
        HTTP_PAYMENT_SIGNATURE=v2_header(signed, accepted(paying)),
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "walletAddress" in response.json()["error"]["details"]["fields"]
    assert Payment.objects.count() == 0
    assert paying.sent_transactions() == sent


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("signature", "0xzz", "signature must be 0x-hex of at least 65 bytes."),
        ("signature", "0x" + "ab" * 64, "signature must be 0x-hex of at least 65 bytes."),
        ("signature", "ab" * 65, "signature must be 0x-hex of at least 65 bytes."),
        ("value", "ten", "authorization.value must be a whole number in a string."),
        ("value", 10_000_000, "authorization.value must be a whole number in a string."),
        ("validAfter", "-1", "authorization.validAfter must be a whole number in a string."),
        ("validBefore", "soon", "authorization.validBefore must be a whole number in a string."),
        ("validBefore", "9" * 78, "authorization.validBefore must be a whole number in a string."),
        ("value", str(2**256), "authorization.value must be a whole number in a string."),
    ],
)
def test_an_authorization_with_malformed_fields(api, paying, payer, field, value, message):
    signed = sign_authorization(payer, paying, to=paying.pay_to, value=TEN)
    if field == "signature":
        signed["signature"] = value
    else:
        signed["authorization"][field] = value
    header = v2_header(signed, accepted(paying))

    got = refused(api, paying, payer, {"HTTP_PAYMENT_SIGNATURE": header})

    assert got == ("invalid_payload", message)


def test_a_signature_the_facilitator_cannot_check(api, paying, payer):
    signed = sign_authorization(payer, paying, to=paying.pay_to, value=TEN)
    signed["signature"] = "0x" + "ab" * 65  # well-formed hex, but v = 171 recovers nothing

    got = refused(
        api, paying, payer, {"HTTP_PAYMENT_SIGNATURE": v2_header(signed, accepted(paying))}
    )

    assert got == (
        "invalid_exact_evm_failed_to_verify_signature",
        "The payment's signature could not be checked; try again.",
    )
