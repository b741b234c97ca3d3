"""Requests per key per day: the batched writes and the reads behind the charts.

The hot path never writes here per request. It adds one INCR of the secret's
usage counter (`usage_counter_key`) to the cache round trip it makes anyway, and
at most once a minute per key (with the lastUsedAt write) `usage_flush` moves
the count into the per-day table. The requests of a key's last active minute
wait in the cache until its next use; a flush just after midnight UTC counts
the minute before it on the new day.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.core.cache import cache
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


def usage_counter_key(digest: str) -> str:
    """The cache counter of one secret's requests not yet in the table."""
    return f"apikey:usage:{digest}"


def usage_flush(*, digest: str, key_id: uuid.UUID, organization_id: uuid.UUID, day: date) -> int:
    """Move the requests counted in the cache for this secret into `day`'s row.

    The counter is decremented by what was read, not reset, so requests counted
    meanwhile by other processes stay for the next flush. Returns how many moved."""
    name = usage_counter_key(digest)
    taken = int(cache.get(name) or 0)
    if taken <= 0:
        return 0
    try:
        cache.decr(name, taken)
    except ValueError:
        return 0  # the counter vanished (evicted) since it was read: nothing to move
    usage_add(key_id=key_id, organization_id=organization_id, day=day, requests=taken)
    return taken
