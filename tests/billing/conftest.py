import pytest

from billing.models import EntryKind


@pytest.fixture
def make_key(db, org, user):
    """Create a key through the service; returns (row, full key)."""
    from apikeys.services import apikey_create

    def make(**kwargs):
        kwargs.setdefault("organization", org)
        kwargs.setdefault("created_by", user)
        kwargs.setdefault("name", "test key")
        return apikey_create(**kwargs)

    return make


@pytest.fixture
def fund(db):
    """Grant credits through the ledger service: fund(org, micros)."""
    from billing.services import credits_grant

    def grant(organization, micros):
        return credits_grant(
            organization=organization, amount_micros=micros, kind=EntryKind.TOPUP
        ).entry

    return grant


@pytest.fixture
def other_org(db):
    from accounts.services import organization_create

    return organization_create(name="Other", slug="other")
