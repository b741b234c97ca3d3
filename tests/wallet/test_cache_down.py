"""Redis unreachable: every wallet path answers 503, never a 500, never an acceptance."""

from __future__ import annotations

import pytest
from django.test import override_settings

from accounts.models import User
from apikeys.models import APIKey
from tests.wallet.helpers import new_wallet, sign, siwe_text, wallet_headers
from tests.wallet.test_authentication import call

CLOSED_PORT_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "KEY_PREFIX": "gh",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }
}
UNAVAILABLE = {
    "error": {
        "code": "SERVICE_UNAVAILABLE",
        "message": "Authentication is temporarily unavailable; try again shortly.",
    }
}


@pytest.fixture
def redis_down():
    with override_settings(CACHES=CLOSED_PORT_REDIS):
        yield


@pytest.mark.django_db
def test_nonce_is_503(api, redis_down):
    response = api.get("/api/auth/siwe/nonce")
    assert (response.status_code, response.json()) == (503, UNAVAILABLE)


@pytest.mark.django_db
def test_verify_is_503_and_creates_nothing(api):
    wallet = new_wallet()
    nonce = api.get("/api/auth/siwe/nonce").json()["nonce"]  # issued while the cache was up
    text = siwe_text(wallet, nonce=nonce)
    with override_settings(CACHES=CLOSED_PORT_REDIS):
        response = api.post(
            "/api/auth/siwe/verify", {"message": text, "signature": sign(wallet, text)}, "json"
        )
    assert (response.status_code, response.json()) == (503, UNAVAILABLE)
    assert not User.objects.exists()
    assert not APIKey.objects.exists()


@pytest.mark.django_db
def test_verify_with_a_bad_signature_is_still_refused_first(api, redis_down):
    wallet = new_wallet()
    text = siwe_text(wallet, nonce="whateverNonce1")
    response = api.post(
        "/api/auth/siwe/verify", {"message": text, "signature": sign(new_wallet(), text)}, "json"
    )
    assert response.status_code == 401  # no cache needed to know it is wrong


@pytest.mark.django_db
def test_signed_request_is_503_and_creates_nothing(redis_down):
    status, body = call(headers=wallet_headers(new_wallet()))
    assert (status, body) == (503, UNAVAILABLE)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_signed_request_of_a_known_wallet_is_503(redis_down):
    from wallet.accounts import wallet_account_get_or_create

    wallet = new_wallet()
    wallet_account_get_or_create(address=wallet.address)
    assert call(headers=wallet_headers(wallet)) == (503, UNAVAILABLE)


@pytest.mark.django_db
def test_signed_request_with_a_bad_signature_is_401_without_the_cache(redis_down):
    wallet = new_wallet()
    headers = wallet_headers(new_wallet(), address=wallet.address)
    assert call(headers=headers)[0] == 401


@pytest.mark.django_db
def test_signed_request_over_http_is_503(api, redis_down):
    headers = wallet_headers(new_wallet(), path="/api/v1/dashboard")
    response = api.get("/api/v1/dashboard", headers=headers)
    assert (response.status_code, response.json()) == (503, UNAVAILABLE)
