"""`manage.py flush_usage`: move the requests counted in the cache into the per-day
usage table for keys that went quiet (run it from cron every few minutes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apikeys.usage import usage_sweep


class Command(BaseCommand):
    help = (
        "Move every recently used key's cached request count into the per-day usage "
        "table (the hot path does it at most once a minute, on the key's next request)."
    )

    def handle(self, *args, **options) -> None:
        keys, moved = usage_sweep()
        plural = "key" if keys == 1 else "keys"
        self.stdout.write(f"Moved {moved} requests of {keys} {plural} into the usage table.")
