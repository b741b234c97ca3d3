"""Item 8 of issue 9 (SPEC §2): every response that carries a full key is
`Cache-Control: no-store`, so no browser or proxy cache keeps it."""

from __future__ import annotations

import pytest

from tests.security.conftest import KEYS, as_key, as_session, send

pytestmark = pytest.mark.django_db(transaction=True)


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_create_response_is_no_store(user, make_key):
    r = send(as_session(user), "POST", KEYS, {"name": "from the dashboard"})
    assert r.status_code == 201 and no_store(r), r.headers
    _, manager = make_key(permissions=["keys", "chat"])
    r = send(as_key(manager), "POST", KEYS, {"name": "from a key", "permissions": ["chat"]})
    assert r.status_code == 201 and no_store(r), r.headers


def test_regenerate_response_is_no_store(user, make_key):
    key, _ = make_key(name="rotate me")
    r = send(as_session(user), "POST", f"{KEYS}/{key.id}/regenerate", {})
    assert r.status_code == 200 and no_store(r), r.headers
    assert r.json()["key"].startswith("ek_live_")
