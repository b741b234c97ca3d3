"""POST /api/auth/siwe/login (the browser sign-in) and POST /api/auth/logout."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import Organization, Role, User
from accounts.services import membership_add, organization_create
from apikeys.models import APIKey
from billing.models import LedgerEntry
from billing.services import balance_micros
from tests.helpers import CLOSED_PORT_REDIS, fresh_window, rate_limited
from tests.wallet.helpers import (
    FAILED,
    LOGIN_URL,
    NONCE_URL,
    UNAVAILABLE,
    account_body,
    csrf,
    login,
    new_wallet,
    nonce_of,
    sign,
    signed_body,
    siwe_text,
)

LOGOUT_URL = "/api/auth/logout"


def logged_in_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.mark.django_db
def test_the_nonce_sets_the_csrf_cookie(browser):
    response = browser.get(NONCE_URL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert len(response.cookies["csrftoken"].value) == 32


@pytest.mark.django_db
def test_new_wallet_logs_into_a_session_and_no_key_is_issued(browser, wallet):
    response = login(browser, signed_body(browser, wallet))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    user = User.objects.get()
    org = Organization.objects.get()
    assert response.json() == {
        **account_body(wallet),
        "isNewAccount": True,
    }
    assert not APIKey.objects.exists()
    assert balance_micros(organization=org) == 5_000_000
    session = browser.session
    assert session["_auth_user_id"] == str(user.pk)
    assert session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    assert session["active_org_id"] == str(org.pk)


@pytest.mark.django_db
def test_the_session_works_on_the_api_with_csrf(browser, wallet):
    assert login(browser, signed_body(browser, wallet)).status_code == 200
    me = browser.get("/api/v1/dashboard")
    assert me.status_code == 200
    body = me.json()
    assert body["authMethod"] == "session"
    assert body["keyId"] is None
    assert body["user"]["walletAddress"] == wallet.address
    assert body["organization"]["id"] == str(Organization.objects.get().pk)
    assert body["credits"] == {"balance": "5.000000"}

    without = browser.post("/api/v1/api-keys", {"name": "ci"}, format="json")
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "FORBIDDEN"
    assert not APIKey.objects.exists()
    # login() rotated the token: the cookie the browser holds now is the one to send.
    created = browser.post("/api/v1/api-keys", {"name": "ci"}, format="json", headers=csrf(browser))
    assert created.status_code == 201
    assert created.json()["apiKey"]["name"] == "ci"
    assert APIKey.objects.get().created_by == User.objects.get()


@pytest.mark.django_db
def test_login_cycles_the_session_key_and_rotates_the_csrf_token(browser, wallet):
    body = signed_body(browser, wallet)
    before = browser.session
    before["marker"] = "kept"
    before.save()
    old_key, old_token = before.session_key, browser.cookies["csrftoken"].value
    assert login(browser, body).status_code == 200
    new_key = browser.cookies["sessionid"].value
    assert new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    assert browser.session["marker"] == "kept"  # same visitor, new key
    assert browser.cookies["csrftoken"].value != old_token


@pytest.mark.django_db
def test_existing_wallet_logs_in_again_and_the_wallet_org_is_active(browser, wallet):
    assert login(browser, signed_body(browser, wallet)).status_code == 200
    user = User.objects.get()
    other = organization_create(name="Other", slug="other")
    membership_add(user=user, organization=other, role=Role.MEMBER)
    session = browser.session
    session["active_org_id"] = str(other.pk)
    session.save()
    assert browser.get("/api/v1/dashboard").json()["organization"]["slug"] == "other"

    again = login(browser, signed_body(browser, wallet))
    assert again.status_code == 200
    assert again.json()["isNewAccount"] is False
    wallet_org = Organization.objects.get(slug=wallet.address.lower())
    assert browser.session["active_org_id"] == str(wallet_org.pk)
    assert browser.get("/api/v1/dashboard").json()["organization"]["id"] == str(wallet_org.pk)
    assert User.objects.count() == 1
    assert LedgerEntry.objects.count() == 1  # the bonus, once


@pytest.mark.django_db
def test_another_users_session_is_replaced(browser, wallet, user):
    browser.force_login(user)
    browser.get(NONCE_URL)  # the csrf cookie
    assert logged_in_user_id(browser) == str(user.pk)
    assert login(browser, signed_body(browser, wallet)).status_code == 200
    wallet_user = User.objects.get(wallet_address=wallet.address)
    assert logged_in_user_id(browser) == str(wallet_user.pk)


@pytest.mark.django_db
def test_without_the_csrf_token_it_is_403_and_spends_nothing(browser, wallet):
    body = signed_body(browser, wallet)
    response = browser.post(LOGIN_URL, body, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "FORBIDDEN",
            "message": "CSRF Failed: CSRF token missing.",
        }
    }
    assert not User.objects.exists()
    assert logged_in_user_id(browser) is None
    assert cache.get(f"siwe:nonce:{nonce_of(body)}") == 1
    assert login(browser, body).status_code == 200


@pytest.mark.django_db
def test_a_wrong_csrf_token_is_403(browser, wallet):
    body = signed_body(browser, wallet)
    response = browser.post(LOGIN_URL, body, format="json", headers={"X-CSRFToken": "b" * 32})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert not User.objects.exists()


@pytest.mark.django_db
def test_without_the_csrf_cookie_it_is_403(wallet):
    client = APIClient(enforce_csrf_checks=True)
    text = siwe_text(wallet, nonce=client.get(NONCE_URL).json()["nonce"])
    client.cookies.pop("csrftoken")
    response = client.post(
        LOGIN_URL,
        {"message": text, "signature": sign(wallet, text)},
        format="json",
        headers={"X-CSRFToken": "a" * 32},
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "CSRF Failed: CSRF cookie not set."


@pytest.mark.django_db
def test_replay_is_refused(browser, wallet):
    body = signed_body(browser, wallet)
    assert login(browser, body).status_code == 200
    response = login(browser, body)
    assert (response.status_code, response.json()) == (401, FAILED)


@pytest.mark.django_db
def test_a_message_used_at_verify_cannot_log_in(browser, wallet):
    body = signed_body(browser, wallet)
    assert browser.post("/api/auth/siwe/verify", body, format="json").status_code == 200
    response = login(browser, body)
    assert (response.status_code, response.json()) == (401, FAILED)
    assert logged_in_user_id(browser) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"domain": "evil.example"},
        {"uri": "https://evil.example/"},
        {"chain_id": 5},
        {"nonce": "neverIssued12345"},
    ],
)
def test_failed_checks_are_a_generic_401_and_nobody_is_logged_in(browser, wallet, changes):
    browser.get(NONCE_URL)
    response = login(browser, signed_body(browser, wallet, **changes))
    assert (response.status_code, response.json()) == (401, FAILED)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert not User.objects.exists()
    assert logged_in_user_id(browser) is None


@pytest.mark.django_db
def test_signature_of_another_wallet_is_401_and_the_reason_is_logged(browser, wallet, caplog):
    body = signed_body(browser, wallet)
    body["signature"] = sign(new_wallet(), body["message"])
    with caplog.at_level("WARNING", logger="gatehouse.auth"):
        response = login(browser, body)
    assert (response.status_code, response.json()) == (401, FAILED)
    assert f"SIWE signature does not recover {wallet.address}" in caplog.text
    assert cache.get(f"siwe:nonce:{nonce_of(body)}") == 1  # a bad signature burns nothing


@pytest.mark.django_db
def test_malformed_body_is_a_400(browser):
    browser.get(NONCE_URL)
    response = browser.post(LOGIN_URL, {"message": 5}, format="json", headers=csrf(browser))
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {
        "message": ["Not a valid string."],
        "signature": ["This field is required."],
    }


@pytest.mark.django_db
def test_a_deactivated_wallet_user_is_401_and_spends_nothing(browser, wallet):
    assert login(browser, signed_body(browser, wallet)).status_code == 200
    User.objects.update(is_active=False)
    body = signed_body(browser, wallet)
    response = login(browser, body)
    assert (response.status_code, response.json()) == (401, FAILED)
    assert cache.get(f"siwe:nonce:{nonce_of(body)}") == 1
    assert browser.get("/api/v1/dashboard").status_code == 401


@pytest.mark.django_db
def test_cache_down_is_a_503_and_creates_nothing(browser, wallet):
    body = signed_body(browser, wallet)
    with override_settings(CACHES=CLOSED_PORT_REDIS):
        response = login(browser, body)
    assert (response.status_code, response.json()) == (503, UNAVAILABLE)
    assert not User.objects.exists()
    assert logged_in_user_id(browser) is None


@pytest.mark.django_db
def test_login_shares_the_verify_routes_anonymous_limit(browser, wallet, settings):
    settings.ANONYMOUS_RATE = "3/m"
    fresh_window("anon:siwe-verify:127.0.0.1")  # no window edge mid-count
    browser.get(NONCE_URL)  # the csrf cookie (the nonce route has its own bucket)
    body = signed_body(browser, wallet, nonce="neverIssued12345")
    for _ in range(2):
        assert browser.post("/api/auth/siwe/verify", body, format="json").status_code == 401
    assert login(browser, body).status_code == 401
    rate_limited(login(browser, signed_body(browser, wallet)), limit=3)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_get_is_not_allowed(browser):
    response = browser.get(LOGIN_URL)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.django_db
def test_logout_ends_the_session(browser, wallet):
    assert login(browser, signed_body(browser, wallet)).status_code == 200
    response = browser.post(LOGOUT_URL, headers=csrf(browser))
    assert response.status_code == 204
    assert response.content == b""
    assert logged_in_user_id(browser) is None
    me = browser.get("/api/v1/dashboard")
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.django_db
def test_logout_needs_the_csrf_token(browser, wallet):
    assert login(browser, signed_body(browser, wallet)).status_code == 200
    response = browser.post(LOGOUT_URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert browser.get("/api/v1/dashboard").status_code == 200


@pytest.mark.django_db
def test_logout_without_a_session_is_204(browser):
    browser.get(NONCE_URL)
    assert browser.post(LOGOUT_URL, headers=csrf(browser)).status_code == 204


@pytest.mark.django_db
def test_logout_ends_a_password_session_too(browser, user):
    browser.force_login(user)
    browser.get(NONCE_URL)
    assert browser.post(LOGOUT_URL, headers=csrf(browser)).status_code == 204
    assert logged_in_user_id(browser) is None
