"""Item 10 of issue 9 (SPEC §2): a key in the URL is refused with 400 in every
form (`?api_key=…`, `?<key>`, `?x=%20<key>`, encoded), on every endpoint; a URL
is logged by every proxy, so a valid key seen there is revoked at once (audit
reason "exposed in a URL", setting API_KEY_REVOKE_EXPOSED, default on) and the
400 says so."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apikeys import keyformat
from apikeys.models import APIKeyEvent, EventAction
from tests.security.conftest import as_key, error

pytestmark = pytest.mark.django_db(transaction=True)

FORMS = {
    "bare": "?{key}",
    "space-encoded": "?x=%20{key}",
    "plus-space": "?x=+{key}",
    "named": "?api_key={key}",
    "first-letter-encoded": "?x=%65{rest}",
    "inside-a-value": "?note=see%20{key}%20here",
    "double-encoded": "?x=%2520{key}",
    "after-others": "?page=2&{key}",
}


def url_with(key: str, form: str, path: str = "/api/v1/dashboard") -> str:
    return path + FORMS[form].format(key=key, rest=key[1:])


@pytest.mark.parametrize("form", FORMS)
def test_valid_key_in_the_url_is_refused_and_revoked(make_key, form):
    row, full = make_key(name="leaked")
    r = APIClient().get(url_with(full, form))
    assert error(r) == (400, "VALIDATION_ERROR")
    assert "revoked" in r.json()["error"]["message"]
    assert full not in r.content.decode()
    row.refresh_from_db()
    assert row.revoked_at is not None
    event = APIKeyEvent.objects.get(key=row, action=EventAction.REVOKED)
    assert "exposed in a URL" in event.details["reason"]
    assert error(as_key(full).get("/api/v1/dashboard")) == (401, "UNAUTHORIZED")


def test_refused_even_with_a_valid_header_and_on_anonymous_endpoints(make_key):
    row, full = make_key(name="leaked")
    _, other = make_key(name="sender")
    r = as_key(other).get(url_with(full, "bare"))
    assert error(r) == (400, "VALIDATION_ERROR")
    r = APIClient().get(url_with(full, "space-encoded", "/api/auth/siwe/nonce"))
    assert error(r) == (400, "VALIDATION_ERROR")
    row.refresh_from_db()
    assert row.revoked_at is not None


def test_unknown_key_in_the_url_is_refused_without_claiming_a_revocation(db):
    r = APIClient().get(url_with(keyformat.generate(), "bare"))
    assert error(r) == (400, "VALIDATION_ERROR")
    assert "revoked" not in r.json()["error"]["message"]


def test_revocation_can_be_turned_off(make_key, settings):
    settings.API_KEY_REVOKE_EXPOSED = False
    row, full = make_key(name="leaked")
    r = APIClient().get(url_with(full, "bare"))
    assert error(r) == (400, "VALIDATION_ERROR")
    assert "revoked" not in r.json()["error"]["message"]
    row.refresh_from_db()
    assert row.revoked_at is None
