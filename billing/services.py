"""Every movement of credits: one conditional UPDATE plus one ledger row.

On PostgreSQL a movement is one SQL statement, one round trip: a data-modifying
CTE updates the balance only if it covers the debit and inserts the ledger row
from the UPDATE's RETURNING, so the row records exactly the balance the UPDATE
left, under its row lock. A statement is atomic on its own (autocommit), or in a
savepoint when the caller already has a transaction. A unique `reference` makes
a retry or a replay a no-op that returns the row written the first time: the
second INSERT violates the unique index, which aborts the whole statement, the
balance update included. No row back means the UPDATE matched nothing: then the
slow path says why (an applied reference, an unknown organization, or too few
credits). Other databases (SQLite) take the ORM path: the same UPDATE, read-back
and INSERT inside one transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from billing import balances
from billing.models import CreditAccount, EntryKind, LedgerEntry
from billing.money import MICROS_PER_USD, format_usd
from config.errors import InsufficientCredits, ValidationFailed

# Guards against a caller passing USD where micro-USD is expected and similar slips.
MAX_MOVEMENT_MICROS = 10**15


@dataclass(frozen=True)
class LedgerResult:
    entry: LedgerEntry
    created: bool  # False when the reference had been applied before


OrgRef = Any  # an Organization or its primary key


def _org_id(organization: OrgRef) -> uuid.UUID:
    return organization.pk if hasattr(organization, "pk") else organization


def credits_grant(
    *,
    organization: OrgRef,
    amount_micros: int,
    kind: str = EntryKind.ADJUSTMENT,
    reference: str | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> LedgerResult:
    """Add credits (top-up, bonus, refund, operator grant)."""
    if kind == EntryKind.USAGE:
        raise ValidationFailed("Usage is a debit, not a grant.")
    return _move(
        org_id=_org_id(organization),
        delta=_checked(amount_micros),
        kind=kind,
        reference=reference,
        description=description,
        metadata=metadata,
    )


def credits_debit(
    *,
    organization: OrgRef,
    amount_micros: int,
    kind: str = EntryKind.USAGE,
    reference: str | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> LedgerResult:
    """Take credits, or raise InsufficientCredits and change nothing."""
    return _move(
        org_id=_org_id(organization),
        delta=-_checked(amount_micros),
        kind=kind,
        reference=reference,
        description=description,
        metadata=metadata,
    )


def credits_grant_signup(*, organization: OrgRef, address: str) -> LedgerResult | None:
    """INITIAL_FREE_CREDITS for a new wallet account (None when the setting is zero).
    One grant per wallet, ever: a retry or a race finds its reference taken."""
    micros = int(settings.INITIAL_FREE_CREDITS * MICROS_PER_USD)
    if micros <= 0:
        return None
    return credits_grant(
        organization=organization,
        amount_micros=micros,
        kind=EntryKind.SIGNUP_BONUS,
        reference=f"signup:{address}",
        description="Initial free credits for a new wallet account",
    )


def balance_micros(*, organization: OrgRef) -> int:
    account = CreditAccount.objects.filter(pk=_org_id(organization)).only("balance_micros").first()
    return account.balance_micros if account else 0


def ledger_mismatches() -> list[tuple[uuid.UUID, int, int]]:
    """(organization id, balance, ledger sum) for every account that disagrees."""
    sums = dict(
        LedgerEntry.objects.values_list("organization_id").annotate(total=Sum("amount_micros"))
    )
    mismatches = []
    for org_id, balance in CreditAccount.objects.values_list("organization_id", "balance_micros"):
        total = sums.pop(org_id, 0) or 0
        if total != balance:
            mismatches.append((org_id, balance, total))
    # Ledger rows for an organization without an account are a mismatch too.
    mismatches.extend((org_id, 0, total) for org_id, total in sums.items() if total)
    return mismatches


def _checked(amount_micros: int) -> int:
    if isinstance(amount_micros, bool) or not isinstance(amount_micros, int):
        raise ValidationFailed("Amounts are integer micro-USD.")
    if not 0 < amount_micros <= MAX_MOVEMENT_MICROS:
        raise ValidationFailed("Amount must be positive and at most 1,000,000,000 USD.")
    return amount_micros


def _existing(reference: str | None) -> LedgerEntry | None:
    if reference is None:
        return None
    return LedgerEntry.objects.filter(reference=reference).first()


def _move(
    *,
    org_id: uuid.UUID,
    delta: int,
    kind: str,
    reference: str | None,
    description: str,
    metadata: dict[str, Any] | None,
) -> LedgerResult:
    if kind not in EntryKind.values:
        raise ValidationFailed(f"Unknown ledger kind {kind!r}.")
    if reference is not None and not (0 < len(reference) <= 200):
        raise ValidationFailed("A reference is 1 to 200 characters.")
    entry = LedgerEntry(
        organization_id=org_id,
        kind=kind,
        amount_micros=delta,
        reference=reference,
        description=description[:500],
        metadata=metadata or {},
        created_at=timezone.now(),
    )
    write = _write_one_statement if connection.vendor == "postgresql" else _write_orm
    try:
        if connection.in_atomic_block:
            # A savepoint, so that a duplicate reference does not spoil the caller's
            # transaction.
            with transaction.atomic():
                written = write(entry)
        else:
            written = write(entry)
    except IntegrityError:
        # A movement with the same reference committed first; ours changed
        # nothing (balance included), so answer with theirs.
        if (existing := _existing(reference)) is not None:
            return LedgerResult(existing, created=False)
        raise
    if written:
        # Readers of the cached balance see it once it is committed, not before.
        transaction.on_commit(
            partial(balances.publish, org_id, entry.balance_after_micros, entry.pk)
        )
        return LedgerResult(entry, created=True)
    # Nothing was written: a retry of an applied reference, or a refusal.
    if (existing := _existing(reference)) is not None:
        return LedgerResult(existing, created=False)
    if not CreditAccount.objects.filter(pk=org_id).exists():
        raise ValidationFailed("Unknown organization.")
    raise InsufficientCredits(
        details={
            "balance": format_usd(balance_micros(organization=org_id)),
            "required": format_usd(-delta),
        }
    )


# The tables are billing_creditaccount and billing_ledgerentry (CreditAccount,
# LedgerEntry): the statement names them, so a change of db_table must change it.
MOVE_SQL = """
    WITH moved AS (
        UPDATE billing_creditaccount SET balance_micros = balance_micros + %(delta)s
        WHERE organization_id = %(org)s AND balance_micros >= %(needed)s
        RETURNING organization_id, balance_micros
    )
    INSERT INTO billing_ledgerentry (organization_id, kind, amount_micros,
        balance_after_micros, reference, description, metadata, created_at)
    SELECT organization_id, %(kind)s, %(delta)s, balance_micros,
           %(reference)s, %(description)s, %(metadata)s::jsonb, %(created_at)s
    FROM moved
    RETURNING id, balance_after_micros
"""


def _write_one_statement(entry: LedgerEntry) -> bool:
    """The UPDATE and the INSERT in one statement; False when the UPDATE matched nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            MOVE_SQL,
            {
                "delta": entry.amount_micros,
                "org": entry.organization_id,
                "needed": max(0, -entry.amount_micros),
                "kind": entry.kind,
                "reference": entry.reference,
                "description": entry.description,
                "metadata": json.dumps(entry.metadata),
                "created_at": entry.created_at,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return False
    entry.pk, entry.balance_after_micros = row
    entry._state.adding, entry._state.db = False, connection.alias
    return True


def _write_orm(entry: LedgerEntry) -> bool:
    """The same movement through the ORM, in one transaction (SQLite)."""
    org_id, delta = entry.organization_id, entry.amount_micros
    if _existing(entry.reference) is not None:
        return False
    with transaction.atomic():
        accounts = CreditAccount.objects.filter(pk=org_id)
        if delta < 0:
            accounts = accounts.filter(balance_micros__gte=-delta)
        if accounts.update(balance_micros=F("balance_micros") + delta) == 0:
            return False
        # Our UPDATE holds the row lock until commit, so this read is our result.
        entry.balance_after_micros = CreditAccount.objects.values_list(
            "balance_micros", flat=True
        ).get(pk=org_id)
        entry.save(force_insert=True)
    return True
