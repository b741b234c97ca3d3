import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from billing import services
from billing.models import CreditAccount, EntryKind, LedgerEntry
from config.errors import InsufficientCredits, ValidationFailed

pytestmark = pytest.mark.django_db


def test_new_organization_has_an_empty_account(org):
    assert CreditAccount.objects.get(organization=org).balance_micros == 0
    assert services.balance_micros(organization=org) == 0


def test_grant_then_debit(org):
    granted = services.credits_grant(
        organization=org, amount_micros=5_000_000, kind=EntryKind.TOPUP, reference="pay:1"
    )
    assert granted.created is True
    assert granted.entry.amount_micros == 5_000_000
    assert granted.entry.balance_after_micros == 5_000_000
    debited = services.credits_debit(organization=org, amount_micros=2_000, reference="req:1")
    assert debited.entry.kind == EntryKind.USAGE
    assert debited.entry.amount_micros == -2_000
    assert debited.entry.balance_after_micros == 4_998_000
    assert services.balance_micros(organization=org) == 4_998_000
    assert services.ledger_mismatches() == []


def test_reference_is_applied_once(org):
    first = services.credits_grant(organization=org, amount_micros=1_000_000, reference="pay:x")
    again = services.credits_grant(organization=org, amount_micros=1_000_000, reference="pay:x")
    assert again.created is False
    assert again.entry.pk == first.entry.pk
    assert services.balance_micros(organization=org) == 1_000_000
    assert LedgerEntry.objects.count() == 1


def test_debit_beyond_balance_changes_nothing(org):
    services.credits_grant(organization=org, amount_micros=1_000)
    with pytest.raises(InsufficientCredits) as exc:
        services.credits_debit(organization=org, amount_micros=1_001, reference="req:big")
    assert exc.value.status_code == 402
    assert exc.value.code == "INSUFFICIENT_CREDITS"
    assert exc.value.details == {"balance": "0.001000", "required": "0.001001"}
    assert services.balance_micros(organization=org) == 1_000
    assert LedgerEntry.objects.count() == 1
    assert not LedgerEntry.objects.filter(reference="req:big").exists()


def test_debit_to_exactly_zero(org):
    services.credits_grant(organization=org, amount_micros=7)
    services.credits_debit(organization=org, amount_micros=7)
    assert services.balance_micros(organization=org) == 0


@pytest.mark.parametrize("amount", [0, -5, 10**15 + 1, 1.5, True, "5"])
def test_bad_amounts_change_nothing(org, amount):
    with pytest.raises(ValidationFailed):
        services.credits_grant(organization=org, amount_micros=amount)
    with pytest.raises(ValidationFailed):
        services.credits_debit(organization=org, amount_micros=amount)
    assert LedgerEntry.objects.count() == 0


def test_usage_is_not_a_grant_and_unknown_kind_refused(org):
    with pytest.raises(ValidationFailed):
        services.credits_grant(organization=org, amount_micros=1, kind=EntryKind.USAGE)
    with pytest.raises(ValidationFailed):
        services.credits_grant(organization=org, amount_micros=1, kind="gift")
    with pytest.raises(ValidationFailed):
        services.credits_grant(organization=org, amount_micros=1, reference="r" * 201)


def test_unknown_organization(db):
    import uuid

    with pytest.raises(ValidationFailed):
        services.credits_grant(organization=uuid.uuid4(), amount_micros=1)


def test_ledger_is_append_only(org):
    entry = services.credits_grant(organization=org, amount_micros=1).entry
    entry.amount_micros = 100
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount_micros=100)
    with pytest.raises(TypeError):
        LedgerEntry.objects.all().delete()


def test_database_refuses_a_negative_balance(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.filter(organization=org).update(balance_micros=-1)


def test_check_ledger_reports_a_drifted_balance(org, capsys):
    services.credits_grant(organization=org, amount_micros=5)
    call_command("check_ledger")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A trigger refuses such a drift at commit (tests/billing/test_ledger_triggers.py);
            # check_ledger still has to find one made with it disabled (DDL, rolled back
            # with the test). Pending checks run first: ALTER waits for none.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE billing_creditaccount DISABLE TRIGGER billing_balance_matches_ledger"
            )
        cursor.execute(
            "UPDATE billing_creditaccount SET balance_micros = 6 WHERE organization_id = %s",
            [org.pk.hex if connection.vendor == "sqlite" else org.pk],
        )
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="1 balance"):
        call_command("check_ledger")
    assert "balance 0.000006 USD, ledger sum 0.000005 USD" in capsys.readouterr().err


def test_retry_of_an_applied_debit_is_answered_even_when_the_balance_is_short(org):
    services.credits_grant(organization=org, amount_micros=1_000)
    first = services.credits_debit(organization=org, amount_micros=1_000, reference="req:all")
    again = services.credits_debit(organization=org, amount_micros=1_000, reference="req:all")
    assert again.created is False
    assert again.entry.pk == first.entry.pk
    assert services.balance_micros(organization=org) == 0
    assert LedgerEntry.objects.filter(reference="req:all").count() == 1


def test_a_duplicate_reference_leaves_the_callers_transaction_usable(org):
    services.credits_grant(organization=org, amount_micros=5_000, reference="pay:t")
    with transaction.atomic():
        again = services.credits_grant(organization=org, amount_micros=5_000, reference="pay:t")
        # The refused INSERT rolled back to its own savepoint only.
        debited = services.credits_debit(organization=org, amount_micros=1_000)
    assert again.created is False
    assert debited.entry.balance_after_micros == 4_000
    assert services.balance_micros(organization=org) == 4_000
    assert services.ledger_mismatches() == []


@pytest.mark.django_db(transaction=True)
def test_a_debit_is_one_statement_on_postgresql(django_assert_num_queries):
    from accounts.services import organization_create

    org = organization_create(name="One statement")
    services.credits_grant(organization=org, amount_micros=5_000)
    if connection.vendor != "postgresql":
        # SQLite has no data-modifying CTE: the ORM path, in one transaction.
        services.credits_debit(organization=org, amount_micros=2_000, reference="req:sqlite")
        assert services.balance_micros(organization=org) == 3_000
        return
    with django_assert_num_queries(1) as captured:
        result = services.credits_debit(organization=org, amount_micros=2_000, reference="req:1")
    assert captured.captured_queries[0]["sql"].lstrip().startswith("WITH moved AS")
    assert result.created is True
    assert result.entry.pk == LedgerEntry.objects.get(reference="req:1").pk
    assert result.entry.balance_after_micros == 3_000
    # A refused debit costs the statement plus the queries that say why.
    with pytest.raises(InsufficientCredits):
        services.credits_debit(organization=org, amount_micros=3_001, reference="req:2")
    assert services.balance_micros(organization=org) == 3_000
    assert services.ledger_mismatches() == []


def test_the_maximum_movement_is_accepted(org):
    result = services.credits_grant(organization=org, amount_micros=10**15)
    assert result.entry.amount_micros == 10**15
    services.credits_debit(organization=org, amount_micros=10**15)
    assert services.balance_micros(organization=org) == 0


def test_a_debit_of_one_micro_on_an_empty_account_is_refused(org):
    with pytest.raises(InsufficientCredits) as exc:
        services.credits_debit(organization=org, amount_micros=1)
    assert exc.value.details == {"balance": "0.000000", "required": "0.000001"}
    assert services.balance_micros(organization=org) == 0
    assert LedgerEntry.objects.count() == 0


def test_reference_is_1_to_200_characters(org):
    ok = services.credits_grant(organization=org, amount_micros=1, reference="r" * 200)
    assert ok.entry.reference == "r" * 200
    one = services.credits_grant(organization=org, amount_micros=1, reference="x")
    assert one.created is True
    for bad in ("", "r" * 201):
        with pytest.raises(ValidationFailed) as exc:
            services.credits_grant(organization=org, amount_micros=1, reference=bad)
        assert exc.value.message == "A reference is 1 to 200 characters."
    assert LedgerEntry.objects.count() == 2


def test_description_is_cut_at_500_characters_and_metadata_kept(org):
    entry = services.credits_grant(
        organization=org, amount_micros=1, description="d" * 600, metadata={"source": "test"}
    ).entry
    entry.refresh_from_db()
    assert entry.description == "d" * 500
    assert entry.metadata == {"source": "test"}


def test_unknown_organization_is_not_insufficient_credits(db):
    import uuid

    with pytest.raises(ValidationFailed) as exc:
        services.credits_debit(organization=uuid.uuid4(), amount_micros=1)
    assert type(exc.value) is ValidationFailed
    assert exc.value.message == "Unknown organization."


def test_balance_of_an_organization_without_account_is_zero(db):
    import uuid

    assert services.balance_micros(organization=uuid.uuid4()) == 0


def test_accounts_without_ledger_rows_are_consistent(org):
    from accounts.services import organization_create

    organization_create(name="Empty", slug="empty")
    assert services.ledger_mismatches() == []


def test_result_is_frozen(org):
    import dataclasses

    result = services.credits_grant(organization=org, amount_micros=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.created = False


def test_ledger_rows_of_an_organization_without_account_are_a_mismatch(org):
    services.credits_grant(organization=org, amount_micros=5)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM billing_creditaccount WHERE organization_id = %s",
            [org.pk.hex if connection.vendor == "sqlite" else org.pk],
        )
    assert services.ledger_mismatches() == [(org.pk, 0, 5)]


def test_signup_credits_are_granted_once_per_wallet(org, settings):
    from decimal import Decimal

    settings.INITIAL_FREE_CREDITS = Decimal("2.5")
    first = services.credits_grant_signup(organization=org, address="0xabc")
    assert first.created is True
    assert (first.entry.amount_micros, first.entry.kind, first.entry.reference) == (
        2_500_000,
        EntryKind.SIGNUP_BONUS,
        "signup:0xabc",
    )
    assert first.entry.description == "Initial free credits for a new wallet account"
    again = services.credits_grant_signup(organization=org, address="0xabc")
    assert (again.created, again.entry.pk) == (False, first.entry.pk)
    assert services.balance_micros(organization=org) == 2_500_000


@pytest.mark.parametrize(("usd", "micros"), [("0", None), ("0.000001", 1)])
def test_signup_credits_of_zero_grant_nothing(org, settings, usd, micros):
    from decimal import Decimal

    settings.INITIAL_FREE_CREDITS = Decimal(usd)
    result = services.credits_grant_signup(organization=org, address="0xdef")
    assert (result.entry.amount_micros if result else None) == micros
    assert LedgerEntry.objects.count() == (0 if micros is None else 1)
