"""The ledger cannot be rewritten, and no balance can drift from it, even by raw SQL
(billing/migrations/0002_ledger_append_only.py: PostgreSQL triggers)."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from accounts.services import organization_create
from billing import services
from billing.models import CreditAccount, LedgerEntry

pytestmark = pytest.mark.postgresql


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def ledger_rows(org):
    return sql(
        "SELECT id, kind, amount_micros, balance_after_micros, reference"
        " FROM billing_ledgerentry WHERE organization_id = %s ORDER BY id",
        [org.pk],
    )


def balance(org):
    return sql(
        "SELECT balance_micros FROM billing_creditaccount WHERE organization_id = %s", [org.pk]
    )[0][0]


@pytest.fixture
def funded(db):
    org = organization_create(name="Ledgered")
    services.credits_grant(organization=org, amount_micros=7_000_000, reference="grant:1")
    services.credits_debit(organization=org, amount_micros=1_000, reference="req:1")
    return org


def refused(statement, params, match):
    """Run `statement` in a savepoint, fire deferred checks now, expect the refusal."""
    with pytest.raises(IntegrityError, match=match), transaction.atomic():
        sql(statement, params)
        sql("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE billing_ledgerentry SET amount_micros = 1 WHERE organization_id = %s",
        "UPDATE billing_ledgerentry SET description = 'edited' WHERE organization_id = %s",
        "UPDATE billing_ledgerentry SET balance_after_micros = balance_after_micros"
        " WHERE organization_id = %s",
        "DELETE FROM billing_ledgerentry WHERE organization_id = %s",
    ],
)
def test_ledger_rows_cannot_be_updated_or_deleted(funded, statement):
    before = ledger_rows(funded)
    assert [row[1:] for row in before] == [
        ("adjustment", 7_000_000, 7_000_000, "grant:1"),
        ("usage", -1_000, 6_999_000, "req:1"),
    ]
    verb = statement.split()[0]
    refused(statement, [funded.pk], f"billing_ledgerentry is append-only: {verb} refused")
    assert ledger_rows(funded) == before
    assert balance(funded) == 6_999_000


@pytest.mark.django_db
def test_a_balance_cannot_change_without_its_ledger_row(funded):
    refused(
        "UPDATE billing_creditaccount SET balance_micros = balance_micros + 1000000"
        " WHERE organization_id = %s",
        [funded.pk],
        "does not match its ledger",
    )
    # Lowering it (the conditional-update shape, without a row) is refused too.
    refused(
        "UPDATE billing_creditaccount SET balance_micros = balance_micros - 1000"
        " WHERE organization_id = %s AND balance_micros >= 1000",
        [funded.pk],
        "does not match its ledger",
    )
    assert balance(funded) == 6_999_000
    assert len(ledger_rows(funded)) == 2


@pytest.mark.django_db
def test_a_ledger_row_must_continue_the_chain(funded):
    # The balance moved and the row says so, but the row's balance_after does not
    # follow from the previous row: refused before anything is written.
    refused(
        "INSERT INTO billing_ledgerentry (organization_id, kind, amount_micros,"
        " balance_after_micros, description, metadata, created_at)"
        " VALUES (%s, 'adjustment', 5, 99, '', '{}', now())",
        [funded.pk],
        r"does not continue the chain: 6999000 \+ 5 <> 99",
    )
    assert len(ledger_rows(funded)) == 2


@pytest.mark.django_db
def test_an_account_cannot_start_with_credits_of_no_ledger_row(db):
    org = organization_create(name="Empty")
    CreditAccount.objects.filter(organization=org).delete()
    refused(
        "INSERT INTO billing_creditaccount (organization_id, balance_micros, updated_at)"
        " VALUES (%s, 5000000, now())",
        [org.pk],
        "does not match its ledger",
    )


@pytest.mark.django_db
def test_a_balance_and_its_row_together_are_accepted(funded):
    # What credits_debit does, spelled in SQL: the conditional UPDATE and the row
    # that explains it, in one transaction.
    with transaction.atomic():
        assert sql(
            "UPDATE billing_creditaccount SET balance_micros = balance_micros - 2000"
            " WHERE organization_id = %s AND balance_micros >= 2000"
            " RETURNING balance_micros",
            [funded.pk],
        ) == [(6_997_000,)]
        sql(
            "INSERT INTO billing_ledgerentry (organization_id, kind, amount_micros,"
            " balance_after_micros, reference, description, metadata, created_at)"
            " VALUES (%s, 'usage', -2000, 6997000, 'req:sql', '', '{}', now())",
            [funded.pk],
        )
        sql("SET CONSTRAINTS ALL IMMEDIATE")
    assert balance(funded) == 6_997_000
    assert services.ledger_mismatches() == []


@pytest.mark.django_db(transaction=True)
def test_a_drifted_balance_is_refused_at_commit():
    org = organization_create(name="Committed")
    services.credits_grant(organization=org, amount_micros=3_000_000)
    with pytest.raises(IntegrityError, match="does not match its ledger"), transaction.atomic():
        sql(
            "UPDATE billing_creditaccount SET balance_micros = 1 WHERE organization_id = %s",
            [org.pk],
        )
    assert balance(org) == 3_000_000
    # The services keep working on top (conditional update + row per movement).
    services.credits_debit(organization=org, amount_micros=1_000_000)
    services.credits_grant(organization=org, amount_micros=500_000)
    assert balance(org) == 2_500_000
    assert LedgerEntry.objects.filter(organization=org).count() == 3
    call_command("check_ledger")
