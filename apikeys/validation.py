"""Validation of key input: the rules every way of making a key shares (API,
dashboard, command, headless creation). Each refusal names its field."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.principal import KNOWN_PERMISSIONS, Environment
from config.errors import ValidationFailed, invalid_field

MAX_RATE_LIMIT = 1_000_000  # requests per minute; above this is a typo, not a plan
MAX_ALLOWED_IPS = 100
MAX_PERMISSIONS = 50
MAX_GRACE_SECONDS = 86400
# A client computing "now + 365 days" on a slightly fast clock is not refused.
EXPIRY_LEEWAY = timedelta(minutes=5)


def _fail(field: str, reason: str) -> ValidationFailed:
    return invalid_field(field, reason, sep=": ")


def clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise _fail("name", "Must be 1 to 100 characters.")
    name = name.strip()
    if len(name) > 100 or not name.isprintable():
        raise _fail("name", "Must be 1 to 100 printable characters.")
    return name


def clean_permissions(permissions: Iterable[Any]) -> list[str]:
    if isinstance(permissions, str | bytes) or not isinstance(permissions, Iterable):
        raise _fail("permissions", "Must be a list of permission names.")
    cleaned: list[str] = []
    for item in permissions:
        if not isinstance(item, str) or item not in KNOWN_PERMISSIONS:
            raise _fail(
                "permissions",
                f"Unknown permission {str(item)[:50]!r}; see the documentation for the list.",
            )
        if item not in cleaned:
            cleaned.append(item)
    if len(cleaned) > MAX_PERMISSIONS:
        raise _fail("permissions", f"At most {MAX_PERMISSIONS} permissions.")
    return sorted(cleaned)


def clean_environment(environment: Any) -> str:
    if environment not in Environment.values:
        raise _fail("environment", "Must be live or test.")
    return environment


def clean_rate_limit(rate_limit: Any) -> int | None:
    if rate_limit is None:
        return None
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, int):
        raise _fail("rateLimit", "Must be an integer or null.")
    if not 1 <= rate_limit <= MAX_RATE_LIMIT:
        raise _fail("rateLimit", f"Must be between 1 and {MAX_RATE_LIMIT} requests per minute.")
    return rate_limit


def clean_allowed_ips(allowed_ips: Iterable[Any]) -> list[str]:
    if isinstance(allowed_ips, str | bytes) or not isinstance(allowed_ips, Iterable):
        raise _fail("allowedIps", "Must be a list of addresses or CIDR networks.")
    cleaned: list[str] = []
    for item in allowed_ips:
        if not isinstance(item, str) or len(item) > 64:
            raise _fail("allowedIps", "Each entry is an address or a CIDR network.")
        try:
            network = ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise _fail("allowedIps", f"{item[:64]!r} is not an address or a network.") from None
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        if text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > MAX_ALLOWED_IPS:
        raise _fail("allowedIps", f"At most {MAX_ALLOWED_IPS} entries.")
    return cleaned


def clean_expires_at(expires_at: Any, *, now: datetime) -> datetime:
    if expires_at is None:
        return now + timedelta(days=settings.API_KEY_DEFAULT_EXPIRY_DAYS)
    if not isinstance(expires_at, datetime) or timezone.is_naive(expires_at):
        raise _fail("expiresAt", "Must be an ISO 8601 date-time with a time zone.")
    if expires_at <= now:
        raise _fail("expiresAt", "Must be in the future.")
    if expires_at > now + timedelta(days=settings.API_KEY_MAX_EXPIRY_DAYS) + EXPIRY_LEEWAY:
        raise _fail(
            "expiresAt", f"Must be at most {settings.API_KEY_MAX_EXPIRY_DAYS} days from now."
        )
    return expires_at


def clean_grace_period(seconds: Any) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise _fail("gracePeriodSeconds", "Must be an integer number of seconds.")
    if not 0 <= seconds <= MAX_GRACE_SECONDS:
        raise _fail("gracePeriodSeconds", f"Must be between 0 and {MAX_GRACE_SECONDS}.")
    return seconds
