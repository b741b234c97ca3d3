from django.core.management.base import BaseCommand, CommandError

from billing.money import format_usd
from billing.services import ledger_mismatches


class Command(BaseCommand):
    help = "Exit non-zero if any organization's balance differs from the sum of its ledger."

    def handle(self, *args, **options):
        mismatches = ledger_mismatches()
        for org_id, balance, total in mismatches:
            self.stderr.write(
                f"{org_id}: balance {format_usd(balance)} USD, ledger sum {format_usd(total)} USD"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} balance(s) differ from their ledger.")
        self.stdout.write("Every balance equals its ledger.")
