import pytest

from billing.models import EntryKind


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
