"""Headless key creation: POST /api/v1/api-keys with a SIWE proof and no credentials."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import override_settings

from accounts.models import Organization, User
from apikeys import keyformat
from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.services import apikey_create, apikey_revoke
from billing.services import balance_micros
from tests.wallet.helpers import new_wallet, sign, siwe_text
from tests.wallet.test_cache_down import CLOSED_PORT_REDIS, UNAVAILABLE

URL = "/api/v1/api-keys"
FAILED = {"error": {"code": "UNAUTHORIZED", "message": "SIWE verification failed"}}


@pytest.fixture
def wallet():
    return new_wallet()


def proof(account, *, name="my-bot", nonce="clientNonce0001", **changes) -> dict:
    """The Ethos-style body: a fresh client nonce, expiring in 10 minutes."""
    changes.setdefault("expiration", dt.timedelta(minutes=10))
    text = siwe_text(account, nonce=nonce, chain_id=8453, **changes)
    return {
        "address": account.address,
        "message": text,
        "signature": sign(account, text),
        "name": name,
    }


def post(api, body):
    return api.post(URL, body, format="json")


def nothing_created():
    return not User.objects.exists() and not APIKey.objects.exists()


@pytest.mark.django_db
class TestHeadlessCreation:
    def test_new_wallet_gets_account_and_key_once(self, api, wallet):
        response = post(api, proof(wallet))
        assert response.status_code == 201
        assert response["Cache-Control"] == "no-store"
        body = response.json()
        key = APIKey.objects.get()
        assert set(body) == {"apiKey", "key"}
        assert body["key"].startswith("ek_live_")
        assert keyformat.digest(body["key"]) == key.digest
        assert body["apiKey"]["id"] == str(key.id)
        assert body["apiKey"]["name"] == "my-bot"
        assert body["apiKey"]["environment"] == "live"
        assert body["apiKey"]["permissions"] == []
        assert body["apiKey"]["status"] == "active"
        user = User.objects.get()
        assert user.wallet_address == wallet.address
        assert key.created_by == user
        org = Organization.objects.get()
        assert key.organization == org
        assert balance_micros(organization=org) == 5_000_000
        event = APIKeyEvent.objects.get(key=key)
        assert (event.action, event.actor, event.ip) == (EventAction.CREATED, user, "127.0.0.1")

    def test_the_key_works_and_is_never_shown_again(self, api, wallet):
        full_key = post(api, proof(wallet)).json()["key"]
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
        me = api.get("/api/v1/dashboard")
        assert me.status_code == 200
        assert me.json()["authMethod"] == "api_key"
        assert me.json()["user"]["walletAddress"] == wallet.address
        listed = api.get(URL)
        assert listed.status_code == 200
        assert full_key not in listed.content.decode()

    def test_existing_wallet_account_gets_another_key(self, api, wallet):
        assert post(api, proof(wallet)).status_code == 201
        assert post(api, proof(wallet, nonce="clientNonce0002", name="two")).status_code == 201
        assert User.objects.count() == 1
        assert APIKey.objects.active().count() == 2

    def test_lowercase_address_field_is_accepted(self, api, wallet):
        body = {**proof(wallet), "address": wallet.address.lower()}
        assert post(api, body).status_code == 201

    def test_nonce_issued_here_works_too(self, api, wallet):
        nonce = api.get("/api/auth/siwe/nonce").json()["nonce"]
        assert post(api, proof(wallet, nonce=nonce)).status_code == 201
        assert cache.get(f"siwe:nonce:{nonce}") is None

    def test_expires_at_is_honoured(self, api, wallet):
        when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
        body = {**proof(wallet), "expiresAt": when.isoformat().replace("+00:00", "Z")}
        response = post(api, body)
        assert response.status_code == 201
        assert APIKey.objects.get().expires_at == when

    def test_default_expiry_is_90_days(self, api, wallet):
        post(api, proof(wallet))
        days = (APIKey.objects.get().expires_at - dt.datetime.now(dt.UTC)).total_seconds() / 86400
        assert 89.99 < days < 90.01

    def test_every_nonce_works_once(self, api, wallet):
        body = proof(wallet)
        assert post(api, body).status_code == 201
        response = post(api, body)
        assert (response.status_code, response.json()) == (401, FAILED)
        assert APIKey.objects.count() == 1

    def test_a_sign_in_message_cannot_be_reused_here(self, api, wallet):
        nonce = api.get("/api/auth/siwe/nonce").json()["nonce"]
        body = proof(wallet, nonce=nonce)
        verify = api.post(
            "/api/auth/siwe/verify",
            {"message": body["message"], "signature": body["signature"]},
            format="json",
        )
        assert verify.status_code == 200
        assert post(api, body).status_code == 401
        assert APIKey.objects.count() == 1

    @override_settings(API_KEY_MAX_ACTIVE=1)
    def test_at_the_cap_it_is_409_and_nothing_is_revoked(self, api, wallet):
        assert post(api, proof(wallet)).status_code == 201
        response = post(api, proof(wallet, nonce="clientNonce0002"))
        assert response.status_code == 409
        assert response.json() == {
            "error": {
                "code": "KEY_LIMIT_REACHED",
                "message": "At most 1 active API keys per organization; revoke one first.",
                "details": {"limit": 1},
            }
        }
        assert APIKey.objects.active().count() == 1

    @override_settings(API_KEY_MAX_ACTIVE=2)
    def test_a_409_spends_nothing_and_the_same_message_works_after_a_revoke(self, api, wallet):
        assert post(api, proof(wallet)).status_code == 201
        assert post(api, proof(wallet, nonce="clientNonce0002")).status_code == 201
        body = proof(wallet, nonce="clientNonce0003", name="third")
        for _ in range(2):  # refused as often as it is tried, and nothing spent
            response = post(api, body)
            assert response.status_code == 409
            assert response.json()["error"]["code"] == "KEY_LIMIT_REACHED"
        assert cache.get("siwe:used:clientNonce0003") is None
        apikey_revoke(key=APIKey.objects.order_by("created_at").first())
        response = post(api, body)
        assert response.status_code == 201
        assert response.json()["apiKey"]["name"] == "third"
        assert APIKey.objects.active().count() == 2
        # Spent now: with room again, a replay is the generic 401.
        apikey_revoke(key=APIKey.objects.active().order_by("created_at").first())
        response = post(api, body)
        assert (response.status_code, response.json()) == (401, FAILED)

    @override_settings(API_KEY_MAX_ACTIVE=1)
    def test_at_the_cap_an_issued_nonce_is_not_consumed(self, api, wallet):
        assert post(api, proof(wallet)).status_code == 201
        nonce = api.get("/api/auth/siwe/nonce").json()["nonce"]
        body = proof(wallet, nonce=nonce, name="second")
        assert post(api, body).status_code == 409
        assert cache.get(f"siwe:nonce:{nonce}") == 1
        apikey_revoke(key=APIKey.objects.get())
        assert post(api, body).status_code == 201
        assert cache.get(f"siwe:nonce:{nonce}") is None

    @override_settings(API_KEY_MAX_ACTIVE=1)
    def test_at_the_cap_a_bad_signature_is_still_a_401(self, api, wallet):
        # The cap is looked at only for a proven wallet: a stranger learns nothing.
        assert post(api, proof(wallet)).status_code == 201
        body = proof(wallet, nonce="clientNonce0002")
        body["signature"] = sign(new_wallet(), body["message"])
        response = post(api, body)
        assert (response.status_code, response.json()) == (401, FAILED)


@pytest.mark.django_db
class TestHeadlessRefusals:
    @pytest.mark.parametrize(
        "changes",
        [
            {"expiration": None},
            {"expiration": dt.timedelta(minutes=30)},
            {"expiration": -dt.timedelta(minutes=1)},
            {"domain": "api.ethos.network"},
            {"uri": "https://api.ethos.network"},
            {"issued_at": dt.timedelta(minutes=5)},
        ],
    )
    def test_failed_checks_are_a_generic_401(self, api, wallet, changes):
        response = post(api, proof(wallet, **changes))
        assert (response.status_code, response.json()) == (401, FAILED)
        assert nothing_created()

    def test_address_field_must_be_the_signer(self, api, wallet):
        body = {**proof(wallet), "address": new_wallet().address}
        response = post(api, body)
        assert (response.status_code, response.json()) == (401, FAILED)
        assert nothing_created()

    def test_signature_of_another_wallet_is_refused(self, api, wallet):
        body = proof(wallet)
        body["signature"] = sign(new_wallet(), body["message"])
        assert post(api, body).status_code == 401
        assert nothing_created()

    @pytest.mark.parametrize(
        ("changes", "fields"),
        [
            ({"name": ""}, {"name": ["This field may not be blank."]}),
            ({"name": "x" * 101}, {"name": ["Ensure this field has no more than 100 characters."]}),
            ({"name": 7}, {"name": ["Not a valid string."]}),
            ({"name": None}, {"name": ["This field may not be null."]}),
            ({"address": "0x1234"}, {"address": ["must be 0x followed by 40 hexadecimal digits."]}),
            ({"address": 5}, {"address": ["Not a valid string."]}),
            (
                {"signature": "0xabc"},
                {"signature": ["must be 65 bytes as 0x-prefixed hex (132 characters)."]},
            ),
            ({"message": "é"}, {"message": ["must be ASCII text."]}),
            (
                {"message": "m" * 4097},
                {"message": ["Ensure this field has no more than 4096 characters."]},
            ),
            ({"expiresAt": "tomorrow"}, None),
            ({"expiresAt": 1700000000}, None),
            ({"permissions": ["chat"]}, {"permissions": ["Unknown field."]}),
            ({"environment": "test"}, {"environment": ["Unknown field."]}),
        ],
    )
    def test_bad_input_is_a_400_and_spends_no_nonce(self, api, wallet, changes, fields):
        good = proof(wallet)
        response = post(api, {**good, **changes})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        if fields is not None:
            assert error["details"]["fields"] == fields
        assert nothing_created()
        assert post(api, good).status_code == 201  # the nonce is still good

    def test_missing_name_is_a_400(self, api, wallet):
        body = proof(wallet)
        del body["name"]
        response = post(api, body)
        assert response.status_code == 400
        assert response.json()["error"]["details"]["fields"] == {
            "name": ["This field is required."]
        }

    def test_address_with_bad_checksum_is_a_400(self, api, wallet):
        body = {**proof(wallet), "address": "0x" + wallet.address[2:].upper()}
        response = post(api, body)
        assert response.status_code == 400
        assert "checksum" in response.json()["error"]["details"]["fields"]["address"][0]

    @pytest.mark.parametrize("offset", [dt.timedelta(days=-1), dt.timedelta(days=400)])
    def test_expires_at_out_of_range_is_a_400_and_spends_no_nonce(self, api, wallet, offset):
        good = proof(wallet)
        when = (dt.datetime.now(dt.UTC) + offset).isoformat()
        response = post(api, {**good, "expiresAt": when})
        assert response.status_code == 400
        assert "expiresAt" in response.json()["error"]["details"]["fields"]
        assert nothing_created()
        assert post(api, good).status_code == 201

    def test_without_a_proof_an_anonymous_post_is_a_401(self, api):
        response = post(api, {"name": "x"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"

    def test_incomplete_proof_is_an_anonymous_post(self, api, wallet):
        body = proof(wallet)
        del body["signature"]
        assert post(api, body).status_code == 401

    def test_anonymous_get_is_still_a_401(self, api):
        assert api.get(URL).status_code == 401

    def test_cache_down_is_a_503_and_creates_nothing(self, api, wallet):
        body = proof(wallet)
        with override_settings(CACHES=CLOSED_PORT_REDIS):
            response = post(api, body)
        assert (response.status_code, response.json()) == (503, UNAVAILABLE)
        assert nothing_created()


@pytest.mark.django_db
def test_existing_org_key_count_is_unaffected_by_failures(api, wallet):
    from wallet.accounts import wallet_account_get_or_create

    _, org, _ = wallet_account_get_or_create(address=wallet.address)
    apikey_create(organization=org, name="existing")
    body = proof(wallet)
    body["signature"] = sign(new_wallet(), body["message"])
    assert post(api, body).status_code == 401
    assert APIKey.objects.count() == 1


@pytest.mark.django_db
def test_a_deactivated_wallet_user_gets_no_key(api, wallet):
    assert post(api, proof(wallet, nonce="clientNonce0001")).status_code == 201
    User.objects.update(is_active=False)
    response = post(api, proof(wallet, nonce="clientNonce0002"))
    assert (response.status_code, response.json()) == (401, FAILED)
    assert APIKey.objects.count() == 1
