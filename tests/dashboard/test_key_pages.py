"""The API key pages: list, create (shown once), a key's page, regenerate, revoke,
and what bad input does (the form back with its errors, or a 4xx; nothing changes)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.check import apikey_verify
from apikeys.models import APIKey, APIKeyEvent
from apikeys.services import apikey_create, apikey_revoke

pytestmark = pytest.mark.django_db
KEY_RE = re.compile(r"ek_(?:live|test)_[0-9A-Za-z]{20,}")


def create_form(**overrides):
    data = {
        "form_token": "t" * 32,
        "name": "CI deploys",
        "environment": "live",
        "expires_in": "30",
        "rate_limit": "",
        "allowed_ips": "",
    }
    data.update(overrides)
    return data


def shown_key(response) -> str:
    found = KEY_RE.findall(response.content.decode())
    assert len(set(found)) == 1, found
    return found[0]


def api_status(full_key: str) -> int:
    return APIClient().get("/api/v1/dashboard", HTTP_AUTHORIZATION=f"Bearer {full_key}").status_code


def test_create_shows_the_key_once_and_it_works(owner_client, org, user):
    before = timezone.now()
    response = owner_client.post(
        "/keys/new",
        create_form(
            permissions=["chat:read", "chat:write", "images:read", "keys"], rate_limit="30"
        ),
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    assert b"You will not see it again" in response.content
    full_key = shown_key(response)
    key = APIKey.objects.get()
    assert key.name == "CI deploys"
    assert key.created_by_id == user.pk
    assert key.permissions == ["chat", "images:read", "keys"]
    assert key.rate_limit == 30
    assert before + timedelta(days=30) <= key.expires_at <= timezone.now() + timedelta(days=30)
    assert api_status(full_key) == 200

    listing = owner_client.get("/keys/")
    assert listing.status_code == 200
    assert key.hint.encode() in listing.content
    assert full_key.encode() not in listing.content
    detail = owner_client.get(f"/keys/{key.pk}/")
    assert full_key.encode() not in detail.content


def test_a_double_submitted_create_makes_one_key(owner_client):
    first = owner_client.post("/keys/new", create_form())
    second = owner_client.post("/keys/new", create_form())
    assert first.status_code == 201
    key = APIKey.objects.get()
    assert second.status_code == 302
    assert second["Location"] == f"/keys/{key.pk}/"
    assert KEY_RE.search(owner_client.get(second["Location"]).content.decode()) is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "Must be 1 to 100 characters."),
        ({"name": "x" * 101}, "name", "Must be 1 to 100 printable characters."),
        ({"rate_limit": "many"}, "rate_limit", "Enter a whole number."),
        ({"rate_limit": "0"}, "rate_limit", "Must be between 1 and 1000000 requests per minute."),
        ({"allowed_ips": "10.0.0.300"}, "allowed_ips", "&#x27;10.0.0.300&#x27; is not an address"),
        ({"expires_in": "3650"}, "expires_in", "Select a valid choice."),
        ({"environment": "prod"}, "environment", "Select a valid choice."),
        ({"permissions": ["verify"]}, "permissions", "Select a valid choice."),
        ({"form_token": "short"}, "form_token", "out of date"),
    ],
)
def test_bad_input_gets_the_form_back_and_changes_nothing(owner_client, overrides, field, message):
    response = owner_client.post("/keys/new", create_form(**overrides))
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    if field != "form_token":
        assert 'aria-invalid="true"' in body or "has-errors" in body
    assert APIKey.objects.count() == 0
    # A fresh token, so the corrected form can be sent.
    assert 'name="form_token"' in body
    assert 'value="' + "t" * 32 + '"' not in body


def test_a_refused_create_can_be_corrected_and_sent_again(owner_client):
    assert owner_client.post("/keys/new", create_form(name="")).status_code == 400
    assert owner_client.post("/keys/new", create_form()).status_code == 201
    assert APIKey.objects.count() == 1


def test_the_key_cap_is_the_services(owner_client, make_key, settings):
    settings.API_KEY_MAX_ACTIVE = 1
    make_key()
    response = owner_client.post("/keys/new", create_form())
    assert response.status_code == 409
    assert b"At most 1 active API keys" in response.content
    assert APIKey.objects.count() == 1


def test_stale_csrf_is_refused_and_changes_nothing(user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post("/keys/new", create_form())
    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert APIKey.objects.count() == 0


def test_regenerate_with_grace_keeps_both_secrets(owner_client, make_key):
    key, old = make_key()
    page = owner_client.get(f"/keys/{key.pk}/regenerate")
    assert page.status_code == 200
    response = owner_client.post(f"/keys/{key.pk}/regenerate", {"grace_period": "3600"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    new = shown_key(response)
    assert new != old
    assert apikey_verify(old).valid and apikey_verify(new).valid
    assert api_status(old) == 200 and api_status(new) == 200


def test_regenerate_without_grace_stops_the_old_secret(owner_client, make_key):
    key, old = make_key()
    new = shown_key(owner_client.post(f"/keys/{key.pk}/regenerate", {"grace_period": "0"}))
    assert api_status(old) == 401
    assert api_status(new) == 200


def test_regenerating_a_revoked_key_is_refused(owner_client, make_key):
    key, _ = make_key()
    apikey_revoke(key=key)
    digest = APIKey.objects.get().digest
    response = owner_client.post(f"/keys/{key.pk}/regenerate", {"grace_period": "0"})
    assert response.status_code == 409
    assert b"This API key has been revoked; create a new one." in response.content
    assert APIKey.objects.get().digest == digest


def test_a_bad_grace_period_is_refused(owner_client, make_key):
    key, old = make_key()
    response = owner_client.post(f"/keys/{key.pk}/regenerate", {"grace_period": "999999"})
    assert response.status_code == 400
    assert b"Select a valid choice." in response.content
    assert apikey_verify(old).valid


def test_revoke_asks_then_revokes_at_once(owner_client, make_key):
    key, full_key = make_key()
    confirm = owner_client.get(f"/keys/{key.pk}/revoke")
    assert confirm.status_code == 200
    assert b"Revoke the key" in confirm.content
    assert APIKey.objects.get().revoked_at is None
    response = owner_client.post(f"/keys/{key.pk}/revoke")
    assert response.status_code == 302
    assert APIKey.objects.get().revoked_at is not None
    assert api_status(full_key) == 401
    assert APIKeyEvent.objects.filter(key=key, action="revoked").count() == 1


def test_another_organizations_key_is_not_found(owner_client, other_org):
    theirs, full_key = apikey_create(organization=other_org, name="theirs")
    for url in (
        f"/keys/{theirs.pk}/",
        f"/keys/{theirs.pk}/regenerate",
        f"/keys/{theirs.pk}/revoke",
    ):
        assert owner_client.get(url).status_code == 404, url
        assert owner_client.post(url, {"grace_period": "0"}).status_code == 404, url
    assert owner_client.get(f"/?key={theirs.pk}").status_code == 404
    fresh = APIKey.objects.get(pk=theirs.pk)
    assert fresh.revoked_at is None and fresh.regenerated_at is None
    assert apikey_verify(full_key).valid


def test_list_filters_active_and_revoked(owner_client, make_key):
    make_key(name="still-here")
    gone, _ = make_key(name="gone-now")
    apikey_revoke(key=gone)
    active = owner_client.get("/keys/").content
    assert b"still-here" in active and b"gone-now" not in active
    revoked = owner_client.get("/keys/?status=revoked").content
    assert b"gone-now" in revoked and b"still-here" not in revoked
    everything = owner_client.get("/keys/?status=all").content
    assert b"gone-now" in everything and b"still-here" in everything
    assert owner_client.get("/keys/?status=%00").status_code == 200


def test_pages_need_a_session(client, make_key):
    key, _ = make_key()
    for url in ("/", "/keys/", "/keys/new", f"/keys/{key.pk}/", "/billing/", "/members/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/signin?next="), url
    assert client.post(f"/keys/{key.pk}/revoke").status_code == 302
    assert APIKey.objects.get().revoked_at is None
