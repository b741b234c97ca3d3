"""Reads of balances, the ledger and payments for the API and pages."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from billing.models import LedgerEntry, Payment

RECENT_PAYMENTS = 20


def ledger_recent(*, organization_id: uuid.UUID) -> QuerySet[LedgerEntry]:
    """An organization's ledger, newest first.

    Ordered by id, not time: rows written in the same microsecond still come
    out in the order they were applied (the `ledger_org_recent` index serves it).
    """
    return LedgerEntry.objects.filter(organization_id=organization_id).order_by("-id")


def payments_recent(*, organization_id: uuid.UUID, limit: int = RECENT_PAYMENTS) -> list[Payment]:
    """An organization's latest x402 payments, newest first, with the ledger row
    each credited (one query)."""
    return list(
        Payment.objects.filter(organization_id=organization_id)
        .select_related("ledger_entry")
        .order_by("-created_at", "-id")[:limit]
    )
