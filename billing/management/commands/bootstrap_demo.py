import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import Organization, Role, User
from accounts.services import membership_add, organization_create


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo organization and an operator account, then say how to log in."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DEMO_USERNAME", "admin"))

    def handle(self, *args, username: str, **options):
        org = Organization.objects.filter(slug="demo").first() or organization_create(
            name="Demo", slug="demo"
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
        self.stdout.write(
            "\nGatehouse is starting.\n"
            f"  Admin:     {settings.APP_URL}/admin/\n"
            f"  API docs:  {settings.APP_URL}/api/docs/\n"
            f"  Log in as  {username} / {password}  (organization 'demo')\n"
        )
