"""Every movement of credits: one conditional UPDATE plus one ledger row.

A movement runs in its own transaction (a savepoint when the caller already has
one). The UPDATE takes the account's row lock, so the balance read right after
it is ours, and the ledger row records it. A unique `reference` makes a retry or
a replay a no-op that returns the row written the first time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum

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
    if (entry := _existing(reference)) is not None:
        return LedgerResult(entry, created=False)
    try:
        with transaction.atomic():
            accounts = CreditAccount.objects.filter(pk=org_id)
            if delta < 0:
                accounts = accounts.filter(balance_micros__gte=-delta)
            if accounts.update(balance_micros=F("balance_micros") + delta) == 0:
                if not CreditAccount.objects.filter(pk=org_id).exists():
                    raise ValidationFailed("Unknown organization.")
                raise InsufficientCredits(
                    details={
                        "balance": format_usd(balance_micros(organization=org_id)),
                        "required": format_usd(-delta),
                    }
                )
            # Our UPDATE holds the row lock until commit, so this read is our result.
            balance_after = CreditAccount.objects.values_list("balance_micros", flat=True).get(
                pk=org_id
            )
            entry = LedgerEntry.objects.create(
                organization_id=org_id,
                kind=kind,
                amount_micros=delta,
                balance_after_micros=balance_after,
                reference=reference,
                description=description[:500],
                metadata=metadata or {},
            )
    except IntegrityError:
        # A concurrent movement with the same reference committed first; ours
        # rolled back whole (balance included), so answer with theirs.
        if (entry := _existing(reference)) is not None:
            return LedgerResult(entry, created=False)
        raise
    return LedgerResult(entry, created=True)
