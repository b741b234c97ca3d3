"""GET /api/auth/siwe/nonce and POST /api/auth/siwe/verify over HTTP."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from accounts.models import Membership, Organization, User
from apikeys import keyformat
from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.services import apikey_create, apikey_revoke
from billing.models import EntryKind, LedgerEntry
from billing.services import balance_micros
from tests.helpers import in_parallel
from tests.wallet.helpers import (
    FAILED,
    NONCE_URL,
    VERIFY_URL,
    account_body,
    get_nonce,
    new_wallet,
    nonce_of,
    nothing_created,
    sign,
    signed_body,
    siwe_text,
)


@pytest.mark.django_db
def test_nonce_and_what_the_message_must_carry(api):
    response = api.get(NONCE_URL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    nonce = body.pop("nonce")
    assert body == {
        "domain": "127.0.0.1:8000",
        "uri": "http://127.0.0.1:8000",
        "chainId": 1,
        "version": "1",
        "statement": "Sign in to Gatehouse.",
    }
    assert len(nonce) >= 8 and nonce.isascii() and nonce.isalnum()
    assert cache.get(f"siwe:nonce:{nonce}") == 1


@pytest.mark.django_db
def test_every_nonce_is_new(api):
    assert len({get_nonce(api) for _ in range(20)}) == 20


@pytest.mark.django_db
def test_post_is_not_allowed(api):
    response = api.post(NONCE_URL)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.django_db
def test_wallet_headers_are_ignored_here(api):
    response = api.get(NONCE_URL, headers={"X-Timestamp": "x"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_new_wallet_signs_in_and_gets_a_live_key(api, wallet):
    before = dt.datetime.now(dt.UTC)
    response = api.post(VERIFY_URL, signed_body(api, wallet), format="json")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    user = User.objects.get()
    org = Organization.objects.get()
    key = APIKey.objects.get()
    assert body == {
        "apiKey": body["apiKey"],
        **account_body(wallet),
        "isNewAccount": True,
    }
    assert body["apiKey"].startswith("ek_live_")
    assert key.digest == keyformat.digest(body["apiKey"])
    assert key.name == "SIWE sign-in"
    assert key.environment == "live"
    assert key.organization == org and key.created_by == user
    assert key.permissions == []
    days = (key.expires_at - before).total_seconds() / 86400
    assert 89.99 < days < 90.01
    assert Membership.objects.get().role == "owner"
    assert balance_micros(organization=org) == 5_000_000
    assert LedgerEntry.objects.get().kind == EntryKind.SIGNUP_BONUS


@pytest.mark.django_db
def test_second_sign_in_adds_a_key_and_keeps_the_first(api, wallet):
    first = api.post(VERIFY_URL, signed_body(api, wallet), format="json").json()
    second = api.post(VERIFY_URL, signed_body(api, wallet), format="json").json()
    assert second["isNewAccount"] is False
    assert second["user"] == first["user"]
    assert second["organization"] == first["organization"]
    assert second["apiKey"] != first["apiKey"]
    assert APIKey.objects.active().count() == 2
    assert LedgerEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_deactivated_wallet_user_gets_no_key_and_keeps_the_nonce(api, wallet):
    assert api.post(VERIFY_URL, signed_body(api, wallet), format="json").status_code == 200
    User.objects.update(is_active=False)
    body = signed_body(api, wallet)
    response = api.post(VERIFY_URL, body, format="json")
    assert (response.status_code, response.json()) == (401, FAILED)
    assert APIKey.objects.count() == 1
    nonce = nonce_of(body)
    assert cache.get(f"siwe:nonce:{nonce}") == 1


@pytest.mark.django_db
@override_settings(API_KEY_MAX_ACTIVE=3)
def test_at_the_cap_the_oldest_sign_in_key_makes_room(api, wallet):
    for _ in range(3):
        assert api.post(VERIFY_URL, signed_body(api, wallet), format="json").status_code == 200
    oldest = APIKey.objects.order_by("created_at").first()
    response = api.post(VERIFY_URL, signed_body(api, wallet), format="json")
    assert response.status_code == 200
    oldest.refresh_from_db()
    assert oldest.revoked_at is not None
    assert APIKey.objects.active().count() == 3
    event = APIKeyEvent.objects.get(key=oldest, action=EventAction.REVOKED)
    assert event.actor == User.objects.get()
    assert event.ip == "127.0.0.1"
    assert "make room" in event.details["reason"]


@pytest.mark.django_db
@override_settings(API_KEY_MAX_ACTIVE=2)
def test_other_keys_are_never_revoked_to_make_room(api, wallet):
    assert api.post(VERIFY_URL, signed_body(api, wallet), format="json").status_code == 200
    org = Organization.objects.get()
    APIKey.objects.filter(name="SIWE sign-in").update(name="renamed")
    apikey_create(organization=org, name="ci")
    response = api.post(VERIFY_URL, signed_body(api, wallet), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "KEY_LIMIT_REACHED"
    assert APIKey.objects.active().count() == 2
    assert not APIKey.objects.filter(revoked_at__isnull=False).exists()


@pytest.mark.django_db
@override_settings(API_KEY_MAX_ACTIVE=1)
def test_a_409_spends_no_nonce_and_the_same_message_works_after_a_revoke(api, wallet):
    assert api.post(VERIFY_URL, signed_body(api, wallet), format="json").status_code == 200
    APIKey.objects.filter(name="SIWE sign-in").update(name="renamed")
    body = signed_body(api, wallet)
    nonce = nonce_of(body)
    response = api.post(VERIFY_URL, body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "KEY_LIMIT_REACHED"
    assert cache.get(f"siwe:nonce:{nonce}") == 1
    apikey_revoke(key=APIKey.objects.get())
    response = api.post(VERIFY_URL, body, format="json")
    assert response.status_code == 200
    assert cache.get(f"siwe:nonce:{nonce}") is None
    assert api.post(VERIFY_URL, body, format="json").status_code == 401


@pytest.mark.django_db
def test_replay_of_a_used_message_is_refused(api, wallet):
    body = signed_body(api, wallet)
    assert api.post(VERIFY_URL, body, format="json").status_code == 200
    response = api.post(VERIFY_URL, body, format="json")
    assert (response.status_code, response.json()) == (401, FAILED)
    assert APIKey.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"domain": "evil.example"},
        {"uri": "https://evil.example/"},
        {"chain_id": 137},
        {"issued_at": dt.timedelta(minutes=3)},
        {"expiration": -dt.timedelta(seconds=5)},
        {"not_before": dt.timedelta(minutes=3)},
        {"nonce": "neverIssuedHere"},
    ],
)
def test_each_failed_check_is_a_generic_401(api, wallet, changes, caplog):
    with caplog.at_level(logging.WARNING, logger="gatehouse.auth"):
        response = api.post(VERIFY_URL, signed_body(api, wallet, **changes), format="json")
    assert (response.status_code, response.json()) == (401, FAILED)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert nothing_created()
    [record] = [r for r in caplog.records if r.name == "gatehouse.auth"]
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith("Unauthorized access attempt: SIWE ")
    assert record.getMessage().endswith(" from 127.0.0.1")


@pytest.mark.django_db
def test_wrong_signer_is_a_401_and_keeps_the_nonce(api, wallet):
    nonce = get_nonce(api)
    text = siwe_text(wallet, nonce=nonce)
    response = api.post(
        VERIFY_URL, {"message": text, "signature": sign(new_wallet(), text)}, format="json"
    )
    assert (response.status_code, response.json()) == (401, FAILED)
    assert cache.get(f"siwe:nonce:{nonce}") == 1
    assert nothing_created()


@pytest.mark.django_db
def test_unparseable_message_is_a_401(api, wallet):
    response = api.post(
        VERIFY_URL, {"message": "let me in", "signature": sign(wallet, "let me in")}, "json"
    )
    assert (response.status_code, response.json()) == (401, FAILED)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {},
            {"message": ["This field is required."], "signature": ["This field is required."]},
        ),
        ({"message": "x"}, {"signature": ["This field is required."]}),
        ({"message": 5, "signature": "0x" + "11" * 65}, {"message": ["Not a valid string."]}),
        (
            {"message": None, "signature": "0x" + "11" * 65},
            {"message": ["This field may not be null."]},
        ),
        (
            {"message": ["a"], "signature": "0x" + "11" * 65},
            {"message": ["Not a valid string."]},
        ),
        ({"message": "x", "signature": 12}, {"signature": ["Not a valid string."]}),
        ({"message": "x", "signature": {"r": 1}}, {"signature": ["Not a valid string."]}),
        (
            {"message": "x", "signature": "0x1234"},
            {"signature": ["must be 65 bytes as 0x-prefixed hex (132 characters)."]},
        ),
        (
            {"message": "x", "signature": "0x" + "zz" * 65},
            {"signature": ["must be 65 bytes as 0x-prefixed hex (132 characters)."]},
        ),
        (
            {"message": "x" * 4097, "signature": "0x" + "11" * 65},
            {"message": ["Ensure this field has no more than 4096 characters."]},
        ),
        (
            {"message": "Sïgn in", "signature": "0x" + "11" * 65},
            {"message": ["must be ASCII text."]},
        ),
        (
            {"message": "", "signature": "0x" + "11" * 65},
            {"message": ["This field may not be blank."]},
        ),
    ],
)
def test_malformed_body_is_a_400_and_changes_nothing(api, body, fields):
    nonce = get_nonce(api)
    response = api.post(VERIFY_URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "Invalid request.",
            "details": {"fields": fields},
        }
    }
    assert nothing_created()
    assert cache.get(f"siwe:nonce:{nonce}") == 1


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["[]", '"text"', "12", "null", "{", "\xff", '{"message": NaN}'])
def test_body_that_is_not_an_object_is_a_400(raw):
    response = Client().post(VERIFY_URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.django_db
def test_form_encoded_body_is_a_415(wallet):
    response = Client().post(VERIFY_URL, {"message": "x", "signature": "y"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.django_db
def test_valid_message_with_a_signature_too_long_is_a_400(api, wallet):
    body = signed_body(api, wallet)
    body["signature"] += "00"
    assert api.post(VERIFY_URL, body, format="json").status_code == 400
    assert nothing_created()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_posting_one_message_get_exactly_one_200(wallet):
    body = signed_body(Client(), wallet)
    statuses = in_parallel(
        20, lambda _: Client().post(VERIFY_URL, body, content_type="application/json").status_code
    )
    assert sorted(statuses) == [200] + [401] * 19
    assert APIKey.objects.count() == 1
    assert User.objects.count() == 1


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_first_sign_ins_of_one_wallet_make_one_account(wallet):
    bodies = [signed_body(Client(), wallet) for _ in range(20)]

    def post(i: int) -> tuple[int, bool]:
        r = Client().post(VERIFY_URL, bodies[i], content_type="application/json")
        return r.status_code, r.json().get("isNewAccount")

    results = in_parallel(20, post)
    assert [status for status, _ in results] == [200] * 20
    assert sum(1 for _, new in results if new) == 1
    assert User.objects.count() == 1
    assert Organization.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.SIGNUP_BONUS).count() == 1
    assert APIKey.objects.active().count() == 20


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@override_settings(API_KEY_MAX_ACTIVE=3)
def test_parallel_sign_ins_at_the_cap_each_retire_one_key_and_the_cap_holds(wallet):
    for _ in range(3):
        body = signed_body(Client(), wallet)
        assert Client().post(VERIFY_URL, body, "application/json").status_code == 200
    bodies = [signed_body(Client(), wallet) for _ in range(8)]
    statuses = in_parallel(
        8,
        lambda i: Client().post(VERIFY_URL, bodies[i], content_type="application/json").status_code,
    )
    assert statuses == [200] * 8
    assert APIKey.objects.active().count() == 3
    assert APIKey.objects.filter(revoked_at__isnull=False).count() == 8
    assert APIKeyEvent.objects.filter(action=EventAction.REVOKED).count() == 8
