from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from billing import services
from billing.models import EntryKind
from billing.money import format_usd, parse_usd
from config.errors import ServiceError


class Command(BaseCommand):
    help = "Grant credits to an organization through the ledger."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--usd", required=True, help="amount in USD, e.g. 12.5")
        parser.add_argument("--reason", required=True, help="why (kept in the ledger)")
        parser.add_argument(
            "--reference", help="idempotency reference: the same one is applied once"
        )

    def handle(self, *args, org: str, usd: str, reason: str, reference: str | None, **options):
        reason = reason.strip()
        if not reason:
            raise CommandError("--reason must not be empty.")
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        try:
            amount = parse_usd(usd, field="--usd")
            result = services.credits_grant(
                organization=organization,
                amount_micros=amount,
                kind=EntryKind.ADJUSTMENT,
                reference=reference,
                description=reason,
                metadata={"source": "grant_credits command"},
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        entry = result.entry
        if result.created:
            self.stdout.write(
                f"Granted {format_usd(entry.amount_micros)} USD to {organization.slug}; "
                f"balance {format_usd(entry.balance_after_micros)} USD."
            )
            return
        # The reference was used before: nothing moved now, whatever that entry was.
        earlier = (
            f"ledger entry {entry.pk} of {entry.created_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"{format_usd(entry.amount_micros)} USD to {entry.organization.slug}"
        )
        if entry.organization_id != organization.pk or entry.amount_micros != amount:
            raise CommandError(
                f"Reference {reference!r} is already used by {earlier}; nothing changed."
            )
        balance = format_usd(services.balance_micros(organization=organization))
        self.stdout.write(
            f"Reference {reference!r} was already applied ({earlier}); nothing changed. "
            f"Balance {balance} USD."
        )
