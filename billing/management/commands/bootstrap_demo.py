import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization, Role, User
from accounts.services import membership_add, organization_create
from billing import services
from billing.models import EntryKind
from billing.money import format_usd, parse_usd
from config.errors import ServiceError

DEMO_CREDITS_REFERENCE = "demo:starting-credits"


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo organization (with starting credits) and an operator "
        "account, then say how to log in."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DEMO_USERNAME", "admin"))
        parser.add_argument(
            "--credits",
            default=os.environ.get("DEMO_CREDITS_USD", "5"),
            help="USD the demo organization starts with, once (through the ledger)",
        )

    def handle(self, *args, username: str, credits: str, **options):
        org = Organization.objects.filter(slug="demo").first() or organization_create(
            name="Demo", slug="demo"
        )
        try:
            amount = parse_usd(credits, field="--credits", allow_zero=True)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if amount:
            # The reference makes this a one-off: later runs change nothing.
            services.credits_grant(
                organization=org,
                amount_micros=amount,
                kind=EntryKind.SIGNUP_BONUS,
                reference=DEMO_CREDITS_REFERENCE,
                description="Demo starting credits",
                metadata={"source": "bootstrap_demo"},
            )
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, is_staff=True, is_superuser=True)
        # A fresh password every run: nothing secret is written to disk or reused.
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
        membership_add(user=user, organization=org, role=Role.OWNER)
        balance = format_usd(services.balance_micros(organization=org))
        self.stdout.write(
            "\nGatehouse is starting.\n"
            f"  Admin:     {settings.APP_URL}/admin/\n"
            f"  API docs:  {settings.APP_URL}/api/docs/\n"
            f"  Log in as  {username} / {password}\n"
            f"  Demo organization: Demo (slug demo), {balance} USD of credits\n"
            "  Operator commands: .venv/bin/python manage.py … (reads .env)\n"
        )
