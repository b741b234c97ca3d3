"""Reads of API keys: how many are active, whether there is room for one more,
which key of a name is the oldest (the one a SIWE sign-in retires at the cap), and
the lists and audit trails the dashboard's pages show."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import Organization
from apikeys.errors import KeyLimitReached
from apikeys.models import APIKey, APIKeyEvent


def active_key_count(organization: Organization | uuid.UUID) -> int:
    org_id = getattr(organization, "pk", organization)
    return APIKey.objects.filter(organization_id=org_id).active().count()


def oldest_active_key(*, organization: Organization | uuid.UUID, name: str) -> APIKey | None:
    """The organization's oldest active key called `name`, if any."""
    return (
        APIKey.objects.filter(organization=organization, name=name)
        .active()
        .order_by("created_at", "id")
        .first()
    )


def key_room_check(
    organization: Organization | uuid.UUID, *, replaceable_name: str | None = None
) -> None:
    """KeyLimitReached if the organization already has its cap of active keys.

    apikey_create checks under the organization's row lock; callers may also check
    early (unlocked) to refuse before spending something, such as a SIWE nonce.
    `replaceable_name`: a create that retires the oldest key of this name at the
    cap (apikey_create's `replacing_oldest`) has room whenever one is active.
    """
    if (
        replaceable_name is not None
        and APIKey.objects.filter(organization=organization, name=replaceable_name)
        .active()
        .exists()
    ):
        return
    _refuse_at_cap(active_key_count(organization))


def _refuse_at_cap(active: int) -> None:
    if active >= settings.API_KEY_MAX_ACTIVE:
        raise KeyLimitReached(
            f"At most {settings.API_KEY_MAX_ACTIVE} active API keys per organization; "
            "revoke one first.",
            details={"limit": settings.API_KEY_MAX_ACTIVE},
        )


KEY_FILTERS = ("active", "revoked", "all")


def keys_of_organization(*, organization_id: uuid.UUID, status: str = "all") -> QuerySet[APIKey]:
    """An organization's keys, newest first, with who created them. `status`:
    active (not revoked, not expired), revoked, or all."""
    keys = (
        APIKey.objects.filter(organization_id=organization_id)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )
    if status == "active":
        keys = keys.active()
    elif status == "revoked":
        keys = keys.filter(revoked_at__isnull=False)
    return keys


def key_of_organization(*, organization_id: uuid.UUID, key_id: object) -> APIKey | None:
    """One key, only if it belongs to the organization (another's id finds nothing)."""
    try:
        pk = uuid.UUID(str(key_id))
    except ValueError:
        return None
    return (
        APIKey.objects.filter(pk=pk, organization_id=organization_id)
        .select_related("organization", "created_by")
        .first()
    )


def key_events(*, key_id: uuid.UUID, limit: int = 50) -> list[APIKeyEvent]:
    """A key's audit events, newest first, with the acting user."""
    return list(
        APIKeyEvent.objects.filter(key_id=key_id)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def organization_events(*, organization_id: uuid.UUID, limit: int = 10) -> list[APIKeyEvent]:
    """The latest key events of an organization (the overview's recent activity)."""
    return list(
        APIKeyEvent.objects.filter(organization_id=organization_id)
        .select_related("key", "actor")
        .order_by("-created_at", "-id")[:limit]
    )
