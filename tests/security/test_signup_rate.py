"""Item 5 of issue 9 (SPEC §3): every path that creates an account (SIWE sign-in,
headless key creation, a wallet's first signed request) counts against
SIGNUP_RATE per client address (default 10/h). Past it: 429 and no account, no
free credits; wallets that already have an account keep working.

The attack: forty fresh wallets, one signed request each from one address, got
forty funded accounts in half a second."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from accounts.models import Organization, User
from billing.models import LedgerEntry
from tests.security.conftest import KEYS, as_wallet, error
from tests.wallet.helpers import new_wallet, sign, siwe_text

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 3


@pytest.fixture
def signup_rate(settings):
    settings.SIGNUP_RATE = f"{LIMIT}/h"


def signed_request(account, **extra):
    return as_wallet(APIClient(), account, "GET", "/api/v1/dashboard", **extra)


def siwe_sign_in(account, **extra):
    api = APIClient()
    nonce = api.get("/api/auth/siwe/nonce", **extra).json()["nonce"]
    text = siwe_text(account, nonce=nonce)
    return api.post(
        "/api/auth/siwe/verify",
        {"message": text, "signature": sign(account, text)},
        format="json",
        **extra,
    )


def headless(account, nonce="clientNonce0001", **extra):
    text = siwe_text(account, nonce=nonce, expiration=dt.timedelta(minutes=10))
    body = {
        "address": account.address,
        "message": text,
        "signature": sign(account, text),
        "name": "bot",
    }
    return APIClient().post(KEYS, body, format="json", **extra)


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Organization.objects.count(), LedgerEntry.objects.count()


def test_default_signup_rate_is_ten_an_hour():
    assert django_settings.SIGNUP_RATE == "10/h"


def test_signed_requests_cannot_farm_funded_accounts(signup_rate):
    first = new_wallet()
    assert signed_request(first).status_code == 200
    for _ in range(LIMIT - 1):
        assert signed_request(new_wallet()).status_code == 200
    before = counts()

    farmed = new_wallet()
    r = signed_request(farmed)

    assert error(r) == (429, "RATE_LIMITED")
    assert int(r["Retry-After"]) >= 1
    assert counts() == before
    assert not User.objects.filter(wallet_address=farmed.address).exists()
    # Existing wallets keep working from the same address.
    assert signed_request(first).status_code == 200


def test_every_account_creating_path_shares_one_budget(signup_rate):
    existing = new_wallet()
    assert siwe_sign_in(existing).status_code == 200
    assert headless(new_wallet()).status_code == 201
    assert signed_request(new_wallet()).status_code == 200
    before = counts()

    assert error(siwe_sign_in(new_wallet())) == (429, "RATE_LIMITED")
    assert error(headless(new_wallet(), nonce="clientNonce0002")) == (429, "RATE_LIMITED")
    assert error(signed_request(new_wallet())) == (429, "RATE_LIMITED")
    assert counts() == before

    # A returning wallet signs in again as usual.
    assert siwe_sign_in(existing).status_code == 200


def test_the_budget_is_per_client_address(signup_rate):
    for _ in range(LIMIT):
        assert signed_request(new_wallet()).status_code == 200
    assert error(signed_request(new_wallet())) == (429, "RATE_LIMITED")
    assert signed_request(new_wallet(), REMOTE_ADDR="198.51.100.7").status_code == 200
