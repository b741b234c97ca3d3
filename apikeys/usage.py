"""Requests per key per day: the batched writes and the reads behind the charts.

The hot path never writes here per request; counts gathered in the shared cache
are added in batches by `usage_add`.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from apikeys.models import KeyUsageDay


def usage_add(*, key_id: uuid.UUID, organization_id: uuid.UUID, day: date, requests: int) -> None:
    """Add `requests` to a key's count for `day` (an UPDATE, or the first INSERT)."""
    if requests <= 0:
        return
    for _ in range(2):
        updated = KeyUsageDay.objects.filter(key_id=key_id, day=day).update(
            requests=F("requests") + requests
        )
        if updated:
            return
        try:
            with transaction.atomic():
                KeyUsageDay.objects.create(
                    key_id=key_id, organization_id=organization_id, day=day, requests=requests
                )
            return
        except IntegrityError:
            continue  # another process inserted the day first: add to theirs


def usage_by_day(
    *, organization_id: uuid.UUID, today: date, days: int = 30, key_id: uuid.UUID | None = None
) -> list[tuple[date, int]]:
    """(day, requests) for the `days` days ending `today`, zeros included; all of
    the organization's keys, or one key. One query."""
    first = today - timedelta(days=days - 1)
    rows = KeyUsageDay.objects.filter(
        organization_id=organization_id, day__gte=first, day__lte=today
    )
    if key_id is not None:
        rows = rows.filter(key_id=key_id)
    counts = dict(rows.values("day").annotate(total=Sum("requests")).values_list("day", "total"))
    return [
        (first + timedelta(days=i), int(counts.get(first + timedelta(days=i), 0)))
        for i in range(days)
    ]
