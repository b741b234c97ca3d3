"""Requests per key per day: the batched writes and the reads behind the charts.

The hot path never writes here per request. It adds one INCR of the secret's
usage counter (`keycache.usage_key`) to the cache round trip it makes anyway, and
at most once a minute per key (with the lastUsedAt write) `usage_flush` moves
what is new into the per-day table. The requests of a key's last active minute
wait in the cache until its next use, or until `usage_sweep` (`manage.py
flush_usage`, from cron) moves them for a key that went quiet; a flush just
after midnight UTC counts the minute before it on the new day.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from apikeys import keycache
from apikeys.models import APIKey, KeyUsageDay


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


def usage_flush(*, digest: str, key_id: uuid.UUID, organization_id: uuid.UUID, day: date) -> int:
    """Move the requests counted in the cache for this secret into `day`'s row.

    The counter only grows (so the hot path can tell a new one by its 1, and give
    it a short life: a made-up key's vanishes); a mark beside it says how much is
    already in the table. Callers hold the once-a-minute guard, so one process
    moves a key's count at a time. Returns how many requests moved."""
    names = [keycache.usage_key(digest), keycache.usage_mark_key(digest)]
    found = cache.get_many(names)
    total = int(found.get(names[0]) or 0)
    mark = int(found.get(names[1]) or 0)
    # A counter below its mark expired and started again: all of it is new.
    moved = total - mark if total >= mark else total
    if moved > 0:
        usage_add(key_id=key_id, organization_id=organization_id, day=day, requests=moved)
    if total:
        cache.set(names[1], total, keycache.USAGE_KEEP_SECONDS)
        cache.touch(names[0], keycache.USAGE_KEEP_SECONDS)
    return moved


def usage_sweep(*, now: datetime | None = None) -> tuple[int, int]:
    """Move the cached counts of every key used in the last day into the table,
    without waiting for the key's next request: (keys with requests moved, requests moved).

    A key is flushed under the hot path's own once-a-minute guard, so the sweep
    and a request never move one key's count at the same time; a key whose guard
    is held (a request in the last minute) is left to that request's process
    and the next sweep. A regenerated key's replaced secret has its own counter.
    """
    now = now or timezone.now()
    since = now - timedelta(seconds=keycache.USAGE_KEEP_SECONDS)
    rows = APIKey.objects.filter(last_used_at__gte=since).values_list(
        "pk", "organization_id", "digest", "previous_digest"
    )
    keys = moved = 0
    for key_id, organization_id, *digests in rows.iterator():
        here = 0
        for digest in filter(None, digests):
            if keycache.add_guard(keycache.used_key(digest), keycache.USED_GUARD_SECONDS):
                here += usage_flush(
                    digest=digest,
                    key_id=key_id,
                    organization_id=organization_id,
                    day=now.date(),
                )
        keys += here > 0
        moved += here
    return keys, moved
