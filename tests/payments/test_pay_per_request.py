"""Pay-per-request: a metered endpoint called with no credentials but an x402
payment is paid by it (the endpoint's price); with credentials, credits pay."""

from __future__ import annotations

import pytest
from django.test import override_settings

from billing.models import EntryKind, LedgerEntry, Payment, PaymentKind, PaymentStatus
from billing.services import credits_grant
from billing.x402_buyer import payment_header, settlement

pytestmark = pytest.mark.django_db(transaction=True)

PRICE = 1000  # ECHO_PRICE_USD 0.001 in 6-decimal units


def meta(name: str, value: str) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value}


def asked(api) -> tuple:
    """The 402 of the echo endpoint for a caller carrying a payment that pays nothing."""
    response = api.post("/api/v1/echo", {"message": "hi"}, format="json", HTTP_X_PAYMENT="x")
    assert response.status_code == 402
    return response


def test_the_402_names_the_endpoints_price(api, paying):
    response = asked(api)

    assert response.json()["error"]["details"] == {"reason": "malformed_payment_header"}
    assert response.json()["accepts"][0]["maxAmountRequired"] == str(PRICE)
    assert response.json()["accepts"][0]["resource"] == "http://testserver/api/v1/echo"
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("version", [2, 1])
def test_a_payment_pays_for_one_call(api, paying, payer, version):
    before, recipient = paying.balance(payer.address), paying.balance(paying.pay_to)
    required = asked(api)
    name, value = payment_header(required, required.json(), payer, max_usd="0.01", version=version)

    response = api.post("/api/v1/echo", {"message": "hi"}, format="json", **meta(name, value))

    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "hi"
    assert response.json()["charged"] == "0.000000"  # no credits were used
    payment = Payment.objects.get()
    assert (payment.kind, payment.status, payment.amount_atomic) == (
        PaymentKind.REQUEST,
        PaymentStatus.SETTLED,
        PRICE,
    )
    assert payment.resource == "/api/v1/echo"
    assert settlement(response)["transaction"] == payment.tx_hash
    assert settlement(response)["success"] is True
    assert LedgerEntry.objects.count() == 0
    assert paying.balance(payer.address) == before - PRICE
    assert paying.balance(paying.pay_to) == recipient + PRICE

    again = api.post("/api/v1/echo", {"message": "hi"}, format="json", **meta(name, value))
    assert again.status_code == 402
    assert paying.balance(payer.address) == before - PRICE


def test_a_payment_for_less_than_the_price_is_refused(api, paying, payer):
    with override_settings(ECHO_PRICE_USD="0.0005"):
        required = asked(api)
    name, value = payment_header(required, required.json(), payer, max_usd="0.01")
    before = paying.balance(payer.address)

    response = api.post("/api/v1/echo", {"message": "hi"}, format="json", **meta(name, value))

    assert response.status_code == 402
    assert response.json()["error"]["details"] == {"reason": "amount_mismatch"}
    assert Payment.objects.count() == 0
    assert paying.balance(payer.address) == before


def test_invalid_input_is_not_paid_for(api, paying, payer):
    required = asked(api)
    name, value = payment_header(required, required.json(), payer, max_usd="0.01")
    before = paying.balance(payer.address)

    response = api.post("/api/v1/echo", {"message": 5}, format="json", **meta(name, value))

    assert response.status_code == 400
    assert Payment.objects.count() == 0
    assert paying.balance(payer.address) == before


def test_with_credentials_credits_pay_and_the_payment_is_not_touched(
    api, paying, payer, make_key, org
):
    credits_grant(organization=org, amount_micros=1_000_000, kind=EntryKind.TOPUP)
    _, key = make_key()
    required = asked(api)
    name, value = payment_header(required, required.json(), payer, max_usd="0.01")
    before = paying.balance(payer.address)

    response = api.post(
        "/api/v1/echo", {"message": "hi"}, format="json", HTTP_X_API_KEY=key, **meta(name, value)
    )

    assert response.status_code == 200
    assert response.json()["charged"] == "0.001000"
    assert Payment.objects.count() == 0
    assert paying.balance(payer.address) == before


def test_no_credentials_and_no_payment_is_still_a_401(api, paying):
    response = api.post("/api/v1/echo", {"message": "hi"}, format="json")

    assert response.status_code == 401
