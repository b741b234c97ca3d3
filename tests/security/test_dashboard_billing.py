"""Item 12 of issue 9: `/api/v1/dashboard` showed the credit balance to keys
without `billing` (and, by SPEC §1, members do not see billing either)."""

from __future__ import annotations

import pytest

from billing.models import EntryKind
from billing.services import credits_grant
from tests.security.conftest import as_key, as_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded(org):
    credits_grant(organization=org, amount_micros=7_250_000, kind=EntryKind.TOPUP)


def test_key_without_billing_does_not_see_the_balance(funded, make_key):
    _, chat_only = make_key(permissions=["chat"])
    r = as_key(chat_only).get("/api/v1/dashboard")
    assert r.status_code == 200
    assert r.json()["credits"] is None


def test_key_with_billing_sees_the_balance(funded, make_key):
    for permissions in (["billing"], []):
        _, full = make_key(permissions=permissions)
        r = as_key(full).get("/api/v1/dashboard")
        assert r.json()["credits"] == {"balance": "7.250000"}, permissions


def test_member_session_does_not_see_the_balance_owner_does(funded, user, member):
    assert as_session(member).get("/api/v1/dashboard").json()["credits"] is None
    assert as_session(user).get("/api/v1/dashboard").json()["credits"] == {"balance": "7.250000"}
