"""Reads of API keys: how many are active, whether there is room for one more, and
which key of a name is the oldest (the one a SIWE sign-in retires at the cap)."""

from __future__ import annotations

import uuid

from django.conf import settings

from accounts.models import Organization
from apikeys.errors import KeyLimitReached
from apikeys.models import APIKey


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
