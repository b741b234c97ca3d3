"""python manage.py reconcile_payments: finish pending x402 payments from the chain."""

from django.core.management.base import BaseCommand, CommandError

from billing.reconcile import payments_reconcile
from config.errors import ServiceUnavailable


class Command(BaseCommand):
    help = (
        "Read the chain for every x402 payment whose settlement was not confirmed "
        "(pending, or reserved by a request that never finished) and credit it once "
        "if it settled, or mark it failed if it did not. Safe to run at any time, "
        "from cron or by hand."
    )

    def handle(self, *args, **options) -> None:
        try:
            outcome = payments_reconcile()
        except ServiceUnavailable as exc:
            raise CommandError(exc.message) from exc
        if not outcome:
            self.stdout.write("No open payments.")
            return
        for name in ("settled", "failed", "still pending", "in flight"):
            if outcome[name]:
                self.stdout.write(f"{name}: {outcome[name]}")
