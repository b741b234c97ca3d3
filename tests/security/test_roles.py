"""Item 13 (and item 1 for sessions) of issue 9, SPEC §1: membership roles are
enforced on the server. `owner` and `admin` manage every key of the organization
and see billing; a `member` sees the overview and the key list, and creates,
regenerates and revokes only the keys they created. A key acts within the role
of the person who created it."""

from __future__ import annotations

import pytest

from apikeys.models import APIKey
from tests.security.conftest import KEYS, as_key, as_session, error, send

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot(key: APIKey) -> tuple:
    key.refresh_from_db()
    return (key.digest, key.revoked_at)


def test_member_cannot_regenerate_or_revoke_others_keys(make_key, member):
    owners, _ = make_key(name="owner's key")
    operators, _ = make_key(name="operator's key", created_by=None)
    session = as_session(member)
    for target in (owners, operators):
        before = snapshot(target)
        assert error(send(session, "POST", f"{KEYS}/{target.id}/regenerate", {})) == (
            403,
            "FORBIDDEN",
        )
        assert error(send(session, "DELETE", f"{KEYS}/{target.id}")) == (403, "FORBIDDEN")
        assert snapshot(target) == before


def test_member_manages_their_own_keys_and_sees_the_list(make_key, member):
    make_key(name="owner's key")
    session = as_session(member)
    r = send(session, "POST", KEYS, {"name": "bob's", "permissions": ["chat"]})
    assert r.status_code == 201, r.json()
    own = r.json()["apiKey"]["id"]
    assert send(session, "POST", f"{KEYS}/{own}/regenerate", {}).status_code == 200
    assert send(session, "DELETE", f"{KEYS}/{own}").status_code == 200
    listed = session.get(KEYS).json()
    assert {k["name"] for k in listed["results"]} == {"owner's key", "bob's"}


def test_member_cannot_see_billing(member):
    session = as_session(member)
    assert error(session.get("/api/v1/credits")) == (403, "FORBIDDEN")
    assert error(session.get("/api/v1/credits/transactions")) == (403, "FORBIDDEN")


def test_member_cannot_create_a_key_with_billing_or_keys(member):
    session = as_session(member)
    # [] means every permission, billing included; `keys` would manage others' keys.
    for permissions in (["billing"], [], ["keys"], ["chat", "keys"]):
        r = send(session, "POST", KEYS, {"name": "wants billing", "permissions": permissions})
        assert error(r) == (403, "FORBIDDEN"), permissions
    assert not APIKey.objects.exists()


def test_members_key_acts_within_the_members_role(make_key, member):
    owners, _ = make_key(name="owner's key")
    _, members_manager = make_key(name="bob's manager", created_by=member, permissions=["keys"])
    before = snapshot(owners)
    r = send(as_key(members_manager), "POST", f"{KEYS}/{owners.id}/regenerate", {})
    assert error(r) == (403, "FORBIDDEN")
    assert snapshot(owners) == before


def test_admin_manages_every_key_and_sees_billing(make_key, org_admin):
    owners, _ = make_key(name="owner's key")
    session = as_session(org_admin)
    assert send(session, "POST", f"{KEYS}/{owners.id}/regenerate", {}).status_code == 200
    assert session.get("/api/v1/credits").status_code == 200
