"""Reads of balances and the ledger for the API and pages."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from billing.models import LedgerEntry


def ledger_recent(*, organization_id: uuid.UUID) -> QuerySet[LedgerEntry]:
    """An organization's ledger, newest first.

    Ordered by id, not time: rows written in the same microsecond still come
    out in the order they were applied (the `ledger_org_recent` index serves it).
    """
    return LedgerEntry.objects.filter(organization_id=organization_id).order_by("-id")
