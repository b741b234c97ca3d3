"""Reads of API keys: how many are active, and whether there is room for one more."""

from __future__ import annotations

import uuid

from django.conf import settings

from accounts.models import Organization
from apikeys.errors import KeyLimitReached
from apikeys.models import APIKey


def active_key_count(organization: Organization | uuid.UUID) -> int:
    org_id = getattr(organization, "pk", organization)
    return APIKey.objects.filter(organization_id=org_id).active().count()


def key_room_check(organization: Organization | uuid.UUID) -> None:
    """KeyLimitReached if the organization already has its cap of active keys.

    apikey_create checks under the organization's row lock; callers may also check
    early (unlocked) to refuse before spending something, such as a SIWE nonce."""
    _refuse_at_cap(active_key_count(organization))


def _refuse_at_cap(active: int) -> None:
    if active >= settings.API_KEY_MAX_ACTIVE:
        raise KeyLimitReached(
            f"At most {settings.API_KEY_MAX_ACTIVE} active API keys per organization; "
            "revoke one first.",
            details={"limit": settings.API_KEY_MAX_ACTIVE},
        )
