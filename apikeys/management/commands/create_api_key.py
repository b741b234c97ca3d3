"""`manage.py create_api_key`: an operator makes a key; the key alone on the last line,
so scripts can take it with `| tail -n 1`."""

from __future__ import annotations

import argparse
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Organization
from accounts.principal import Environment
from accounts.services import organization_create
from apikeys.services import apikey_create
from config.errors import ServiceError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _describe(exc: ServiceError) -> str:
    fields = (exc.details or {}).get("fields") or {}
    if not fields:
        return exc.message
    return "; ".join(f"{name}: {' '.join(map(str, problems))}" for name, problems in fields.items())


class Command(BaseCommand):
    help = "Create an API key for an organization and print it (once) on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--name", required=True, help="label of the key (1-100 characters)")
        parser.add_argument(
            "--create-org", action="store_true", help="create the organization if it is missing"
        )
        parser.add_argument(
            "--permissions",
            default="",
            help="comma-separated, e.g. chat,keys (default: every permission)",
        )
        parser.add_argument(
            "--rate-limit", type=_positive_int, help="requests per minute (default: the plan's)"
        )
        parser.add_argument(
            "--expires-in-days",
            type=_positive_int,
            help=f"default {settings.API_KEY_DEFAULT_EXPIRY_DAYS}, "
            f"at most {settings.API_KEY_MAX_EXPIRY_DAYS}",
        )
        parser.add_argument("--test", action="store_true", help="a sandbox (ek_test_) key")

    def handle(self, *args, **options):
        slug = options["org"].strip()
        permissions = [p.strip() for p in options["permissions"].split(",") if p.strip()]
        days = options["expires_in_days"]
        if days is not None and days > settings.API_KEY_MAX_EXPIRY_DAYS:
            raise CommandError(
                f"--expires-in-days must be at most {settings.API_KEY_MAX_EXPIRY_DAYS}."
            )
        try:
            organization = Organization.objects.filter(slug=slug).first()
            if organization is None:
                if not options["create_org"]:
                    raise CommandError(
                        f"No organization with slug {slug!r}; pass --create-org to create it."
                    )
                organization = organization_create(name=slug, slug=slug)
                self.stdout.write(f"Created organization {organization.slug!r}.")
            key, full_key = apikey_create(
                organization=organization,
                name=options["name"],
                permissions=permissions,
                environment=Environment.TEST if options["test"] else Environment.LIVE,
                rate_limit=options["rate_limit"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ServiceError as exc:
            raise CommandError(_describe(exc)) from exc
        self.stdout.write(
            f"Created {key.environment} API key {key.name!r} (id {key.id}) for "
            f"{organization.slug!r}: permissions {', '.join(key.permissions) or 'all'}, "
            f"rate limit {key.effective_rate_limit}/min, expires {key.expires_at:%Y-%m-%d}."
        )
        self.stdout.write("Store it now; it is not shown again:")
        self.stdout.write(full_key)
