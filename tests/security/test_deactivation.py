"""Item 4 of issue 9 (SPEC §1): a deactivated user, or one whose membership is
removed, loses access at once, and so do the keys they created, on every server
process. The keys are warmed into the shared cache first, so the test shows the
change reaching a process that would otherwise answer from its cache."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from tests.security.conftest import KEYS, as_key, error, send

pytestmark = pytest.mark.django_db(transaction=True)


def dashboard(full: str):
    return as_key(full).get("/api/v1/dashboard")


def refused(response) -> bool:
    return error(response) == (401, "UNAUTHORIZED")


def test_deactivated_users_keys_stop_at_once(make_key, user):
    _, full = make_key(name="alice's key", permissions=[])
    _, operator = make_key(name="operator's key", created_by=None)
    assert dashboard(full).status_code == 200  # warm: its record is in the cache

    user.is_active = False
    user.save()  # what the admin's user page does

    assert refused(dashboard(full))
    r = send(as_key(full), "POST", KEYS, {"name": "escape hatch"})
    assert refused(r)
    assert dashboard(operator).status_code == 200  # an operator's key belongs to no user


def test_keys_made_by_a_deactivated_users_key_stop_too(make_key, user):
    _, parent = make_key(name="alice's manager", permissions=["keys", "chat"])
    r = send(as_key(parent), "POST", KEYS, {"name": "child", "permissions": ["chat"]})
    assert r.status_code == 201, r.json()
    child = r.json()["key"]
    assert dashboard(child).status_code == 200

    user.is_active = False
    user.save()

    assert refused(dashboard(child))
    assert refused(dashboard(parent))


def test_removed_membership_stops_the_members_keys(make_key, org, member):
    _, bobs = make_key(name="bob's key", created_by=member, permissions=["chat"])
    _, alices = make_key(name="alice's key")
    assert dashboard(bobs).status_code == 200

    Membership.objects.get(user=member, organization=org).delete()

    assert refused(dashboard(bobs))
    assert dashboard(alices).status_code == 200
