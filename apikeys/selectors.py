"""Reads of API keys and their audit trail for pages (the dashboard)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.utils import timezone

from apikeys.models import APIKey, APIKeyEvent

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


def active_key_total(*, organization_id: uuid.UUID) -> int:
    return APIKey.objects.filter(organization_id=organization_id).active(timezone.now()).count()
