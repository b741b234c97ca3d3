"""Real threads against PostgreSQL: the ledger holds under contention."""

import pytest
from django.core.management import call_command

from accounts.services import organization_create
from billing import services
from billing.models import LedgerEntry
from config.errors import InsufficientCredits
from tests.helpers import in_parallel

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def test_parallel_debits_never_overdraw():
    org = organization_create(name="Busy")
    services.credits_grant(organization=org, amount_micros=20 * 1_000)

    def debit(i):
        try:
            services.credits_debit(organization=org, amount_micros=1_000, reference=f"req:{i}")
            return "ok"
        except InsufficientCredits:
            return "402"

    results = in_parallel(50, debit)
    assert results.count("ok") == 20
    assert results.count("402") == 30
    assert services.balance_micros(organization=org) == 0
    assert LedgerEntry.objects.filter(organization=org, kind="usage").count() == 20
    call_command("check_ledger")


def test_parallel_grants_with_one_reference_apply_once():
    org = organization_create(name="Paid")

    def grant(i):
        return services.credits_grant(
            organization=org, amount_micros=10_000_000, reference="payment:abc"
        ).entry.pk

    ids = in_parallel(20, grant)
    assert len(set(ids)) == 1
    assert LedgerEntry.objects.filter(reference="payment:abc").count() == 1
    assert services.balance_micros(organization=org) == 10_000_000
    call_command("check_ledger")
