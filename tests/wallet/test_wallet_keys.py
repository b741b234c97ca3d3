"""Wallet-signed requests manage keys as the owner of the wallet's organization."""

from __future__ import annotations

import pytest

from accounts.models import Organization, User
from apikeys.models import APIKey, APIKeyEvent, EventAction
from tests.wallet.helpers import new_wallet, wallet_headers

URL = "/api/v1/api-keys"


def signed(api, wallet, method, path, body=None):
    headers = wallet_headers(wallet, method=method, path=path)
    return getattr(api, method.lower())(path, body, format="json", headers=headers)


@pytest.mark.django_db
def test_create_list_regenerate_revoke(api, wallet):
    created = signed(api, wallet, "POST", URL, {"name": "agent", "permissions": ["chat"]})
    assert created.status_code == 201
    key_id = created.json()["apiKey"]["id"]
    user = User.objects.get(wallet_address=wallet.address)
    key = APIKey.objects.get(pk=key_id)
    assert key.created_by == user
    assert key.organization == Organization.objects.get(memberships__user=user)
    assert key.permissions == ["chat"]

    listed = signed(api, wallet, "GET", URL)
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()["results"]] == [key_id]

    detail = signed(api, wallet, "GET", f"{URL}/{key_id}")
    assert detail.status_code == 200

    regenerated = signed(api, wallet, "POST", f"{URL}/{key_id}/regenerate", {})
    assert regenerated.status_code == 200
    assert regenerated.json()["key"] != created.json()["key"]

    revoked = signed(api, wallet, "DELETE", f"{URL}/{key_id}")
    assert revoked.status_code == 200
    assert revoked.json()["apiKey"]["status"] == "revoked"
    actions = list(
        APIKeyEvent.objects.filter(key_id=key_id).order_by("id").values_list("action", "actor")
    )
    assert actions == [
        (EventAction.CREATED, user.pk),
        (EventAction.REGENERATED, user.pk),
        (EventAction.REVOKED, user.pk),
    ]


@pytest.mark.django_db
def test_another_wallets_keys_are_not_found(api, wallet):
    theirs = signed(api, new_wallet(), "POST", URL, {"name": "theirs"}).json()["apiKey"]["id"]
    response = signed(api, wallet, "DELETE", f"{URL}/{theirs}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "KEY_NOT_FOUND"
    assert APIKey.objects.get(pk=theirs).revoked_at is None


@pytest.mark.django_db
def test_dashboard_says_wallet(api, wallet):
    response = signed(api, wallet, "GET", "/api/v1/dashboard")
    assert response.status_code == 200
    body = response.json()
    assert body["authMethod"] == "wallet"
    assert body["keyId"] is None
    assert body["user"]["walletAddress"] == wallet.address
    assert body["credits"] == {"balance": "5.000000"}


@pytest.mark.django_db
def test_signed_requests_are_rate_limited_per_wallet(api, wallet):
    from django.test import override_settings

    with override_settings(PLAN_RATE_LIMITS={"free": 2, "pro": 300, "enterprise": 1000}):
        statuses = []
        for _ in range(3):
            response = signed(api, wallet, "GET", "/api/v1/dashboard")
            statuses.append(response.status_code)
    assert statuses == [200, 200, 429]
    assert response["X-RateLimit-Limit"] == "2"
    assert response["X-RateLimit-Remaining"] == "0"
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
def test_sign_in_key_and_signed_requests_share_one_account(api, wallet):
    from tests.wallet.helpers import sign, siwe_text

    nonce = api.get("/api/auth/siwe/nonce").json()["nonce"]
    text = siwe_text(wallet, nonce=nonce)
    signin = api.post(
        "/api/auth/siwe/verify", {"message": text, "signature": sign(wallet, text)}, "json"
    ).json()
    me = signed(api, wallet, "GET", "/api/v1/dashboard").json()
    assert me["organization"]["id"] == signin["organization"]["id"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {signin['apiKey']}")
    assert api.get("/api/v1/dashboard").json()["organization"] == me["organization"]


@pytest.mark.django_db
def test_bad_wallet_signature_does_not_fall_back_to_a_valid_key(api, wallet):
    key = signed(api, wallet, "POST", URL, {"name": "k"}).json()["key"]
    headers = {
        **wallet_headers(new_wallet(), address=wallet.address, path="/api/v1/dashboard"),
        "Authorization": f"Bearer {key}",
    }
    response = api.get("/api/v1/dashboard", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid wallet signature"


@pytest.mark.django_db
def test_one_wallet_header_next_to_a_valid_key_is_a_401(api, wallet):
    key = signed(api, wallet, "POST", URL, {"name": "k"}).json()["key"]
    response = api.get(
        "/api/v1/dashboard",
        headers={"Authorization": f"Bearer {key}", "X-Wallet-Address": wallet.address},
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"].endswith("missing: X-Timestamp, X-Wallet-Signature")


@pytest.mark.django_db
def test_the_key_alone_works(api, wallet):
    key = signed(api, wallet, "POST", URL, {"name": "k"}).json()["key"]
    assert (
        api.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
