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
        cursor.execute(
            "UPDATE billing_creditaccount SET balance_micros = 6 WHERE organization_id = %s",
            [org.pk.hex if connection.vendor == "sqlite" else org.pk],
        )
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="1 balance"):
        call_command("check_ledger")
    assert "balance 0.000006 USD, ledger sum 0.000005 USD" in capsys.readouterr().err
