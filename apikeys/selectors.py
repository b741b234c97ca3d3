"""Reads of API keys: how many are active, whether there is room for one more,
which key of a name is the oldest (the one a SIWE sign-in retires at the cap), and
the lists and audit trails the dashboard's pages show."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Field, IntegerField, QuerySet
from django.utils import timezone

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


_COUNT: Field = IntegerField()
_FOUND: Field = BooleanField()


@dataclass(frozen=True, slots=True)
class _ActiveKeys:
    """A subquery over the active keys of the organization in
    accounts.selectors.wallet_account_find_with's statement (an OwnerValue): how
    many there are, or (with `name`) whether one has that name.

    Written as SQL because the ORM's Subquery/Exists over APIKey.objects.active()
    costs about 1 ms of CPU to compile, more than the rest of a SIWE sign-in's
    database work; this costs microseconds. "Active" is APIKeyQuerySet.active():
    not revoked, not expired at `now` (the index apikey_org_active serves it)."""

    now: datetime
    name: str | None = None

    @property
    def output_field(self) -> Field:
        return _COUNT if self.name is None else _FOUND

    def sql_against(self, organization_column: str, connection: Any) -> tuple[str, tuple]:
        # Only the quoted table name and the column go into the text; every value
        # is a parameter.
        table = connection.ops.quote_name(APIKey._meta.db_table)
        where = (
            f"k.organization_id = {organization_column} AND k.revoked_at IS NULL "
            "AND k.expires_at > %s"
        )
        params = [connection.ops.adapt_datetimefield_value(self.now)]
        if self.name is None:
            sql = f"(SELECT COUNT(*) FROM {table} k WHERE {where})"  # noqa: S608
        else:
            sql = f"EXISTS (SELECT 1 FROM {table} k WHERE {where} AND k.name = %s)"  # noqa: S608
            params.append(self.name)
        return sql, tuple(params)


def key_room_annotations(*, replaceable_name: str | None = None) -> dict[str, _ActiveKeys]:
    """What accounts.selectors.wallet_account_find_with computes, in the same query,
    to answer key_room_refuse for the wallet's organization: its active keys
    (`keys_active`) and, with `replaceable_name`, whether one of them has that name
    (`keys_replaceable`)."""
    now = timezone.now()
    room = {"keys_active": _ActiveKeys(now)}
    if replaceable_name is not None:
        room["keys_replaceable"] = _ActiveKeys(now, name=replaceable_name)
    return room


def key_room_refuse(room: Mapping[str, Any]) -> None:
    """KeyLimitReached if the organization already has its cap of active keys, from
    the values of key_room_annotations. A create that retires the oldest key of
    the replaceable name at the cap (apikey_create's `replacing_oldest`) has room
    whenever one is active.

    apikey_create checks under the organization's row lock; callers may also check
    early (unlocked) to refuse before spending something, such as a SIWE nonce."""
    if room.get("keys_replaceable"):
        return
    _refuse_at_cap(room["keys_active"])


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
