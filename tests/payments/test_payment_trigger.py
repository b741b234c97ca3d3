"""The forward-only trigger on payment records, with raw SQL on PostgreSQL
(it does not exist on SQLite, so these run in the PostgreSQL pass)."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from billing.models import Payment, PaymentKind, PaymentStatus

pytestmark = [pytest.mark.django_db, pytest.mark.concurrency]


def make(status=PaymentStatus.RESERVED, **fields) -> Payment:
    values = dict(
        kind=PaymentKind.TOPUP,
        x402_version=2,
        network="eip155:1",
        payer="0x" + "ab" * 20,
        nonce="0x" + uuid.uuid4().hex * 2,
        asset="0x" + "cd" * 20,
        pay_to="0x" + "ef" * 20,
        amount_atomic=10_000_000,
        credit_micros=10_000_000,
    )
    payment = Payment.objects.create(**{**values, **fields})
    if status != PaymentStatus.RESERVED:
        sql("UPDATE billing_payment SET status = %s WHERE id = %s", [status, payment.pk])
    return payment


def sql(statement: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def refused(statement: str, params: list, match: str) -> None:
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        sql(statement, params)


def test_the_trigger_is_there():
    assert connection.vendor == "postgresql"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("reserved", "pending"),
        ("reserved", "settled"),
        ("reserved", "failed"),
        ("pending", "settled"),
        ("pending", "failed"),
    ],
)
def test_forward_transitions_are_allowed(start, end):
    payment = make(start)

    assert sql("UPDATE billing_payment SET status = %s WHERE id = %s", [end, payment.pk]) == 1
    payment.refresh_from_db()
    assert payment.status == end


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("pending", "reserved"),
        ("settled", "failed"),
        ("settled", "reserved"),
        ("failed", "settled"),
        ("failed", "pending"),
    ],
)
def test_backward_or_final_transitions_are_refused(start, end):
    payment = make(start)

    refused(
        "UPDATE billing_payment SET status = %s WHERE id = %s",
        [end, payment.pk],
        "not allowed|final",
    )
    payment.refresh_from_db()
    assert payment.status == start


def test_a_settled_payment_is_frozen():
    payment = make(PaymentStatus.SETTLED)

    refused(
        "UPDATE billing_payment SET failure_reason = 'x' WHERE id = %s", [payment.pk], "is final"
    )


@pytest.mark.parametrize(
    "assignment",
    [
        "amount_atomic = 1",
        "credit_micros = 99000000",
        "payer = '0x0000000000000000000000000000000000000001'",
        "nonce = '0x00'",
        "pay_to = '0x0000000000000000000000000000000000000002'",
        "network = 'eip155:2'",
        "beneficiary = '0x0000000000000000000000000000000000000003'",
    ],
)
def test_what_was_paid_never_changes(assignment):
    payment = make()

    refused(f"UPDATE billing_payment SET {assignment} WHERE id = %s", [payment.pk], "never changes")


def test_the_transaction_hash_is_set_once():
    payment = make()
    first, second = "0x" + "11" * 32, "0x" + "22" * 32

    assert sql("UPDATE billing_payment SET tx_hash = %s WHERE id = %s", [first, payment.pk]) == 1
    refused(
        "UPDATE billing_payment SET tx_hash = %s WHERE id = %s", [second, payment.pk], "set once"
    )
    refused("UPDATE billing_payment SET tx_hash = NULL WHERE id = %s", [payment.pk], "set once")


@pytest.mark.parametrize("status", ["reserved", "pending", "settled", "failed"])
def test_deletes_are_refused(status):
    payment = make(status)

    refused("DELETE FROM billing_payment WHERE id = %s", [payment.pk], "never deleted")
    assert Payment.objects.filter(pk=payment.pk).exists()
