"""No credential can make a key stronger than itself (SPEC §1, §2).

When a session, a wallet or a key creates, regenerates or revokes a key, the
target may have no permission the caller lacks, must be a test key if the caller
is one, may expire no later than the caller, must be allowed from no address the
caller is not, and may not have a higher rate limit. A key's own limit never
exceeds its organization's plan. `verify` is never granted through the API.

A session acts within its membership role; a key acts within the role of the
person who created it (an operator's key belongs to no one and acts as an
administrator). A member manages only the keys they created.

Views ask here before they call the services; each refusal is 403 FORBIDDEN and
changes nothing. These reads (the caller's key row, a membership) happen only on
key management, never on the hot path.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import Membership, Organization, Role
from accounts.principal import (
    MEMBER_PERMISSIONS,
    PRIVILEGED_PERMISSIONS,
    AuthMethod,
    Environment,
    Principal,
    permits,
)
from accounts.roles import may_grant, may_manage_key, may_see_billing
from apikeys.models import APIKey
from apikeys.validation import (
    EXPIRY_LEEWAY,
    clean_allowed_ips,
    clean_expires_at,
    clean_permissions,
    clean_rate_limit,
)
from config.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Ceiling:
    """The most a caller may hand on, and whose keys it may touch."""

    user_id: uuid.UUID | None
    role: str | None  # the caller's role, or its creator's (Role.ADMIN for an operator key)
    key_permissions: frozenset[str]  # the calling key's own grant (empty = all); sessions: role's
    role_permissions: frozenset[str]  # what the role allows (empty = all)
    test_only: bool
    expires_at: datetime | None  # None: no end (a session or a wallet)
    allowed_ips: tuple[str, ...]  # empty: any address
    rate_limit: int  # requests per minute
    plan_limit: int  # the organization's plan (enterprise: its custom limit)

    def grants(self, permission: str) -> bool:
        return permits(self.key_permissions, permission) and permits(
            self.role_permissions, permission
        )

    @property
    def grants_all(self) -> bool:
        return not self.key_permissions and not self.role_permissions


def _role_permissions(role: str | None) -> frozenset[str]:
    return frozenset() if may_see_billing(role) else MEMBER_PERMISSIONS


def caller_ceiling(principal: Principal) -> Ceiling:
    """The ceiling of the credential behind `principal` (one or two small reads)."""
    org = Organization.objects.get(pk=principal.organization_id)
    plan_limit = org.rate_limit_per_minute
    if principal.method is not AuthMethod.API_KEY:
        role = principal.role or (Role.OWNER if principal.method is AuthMethod.WALLET else None)
        return Ceiling(
            user_id=principal.user_id,
            role=role,
            key_permissions=principal.permissions,
            role_permissions=_role_permissions(role),
            test_only=False,
            expires_at=None,
            allowed_ips=(),
            rate_limit=plan_limit,
            plan_limit=plan_limit,
        )
    key = APIKey.objects.get(pk=principal.key_id)
    if key.created_by_id is None:
        role: str | None = Role.ADMIN  # made by an operator: belongs to no user
    else:
        role = (
            Membership.objects.filter(user_id=key.created_by_id, organization_id=org.pk)
            .values_list("role", flat=True)
            .first()
        )
    return Ceiling(
        user_id=key.created_by_id,
        role=role,
        key_permissions=frozenset(key.permissions),
        role_permissions=_role_permissions(role),
        test_only=key.environment == Environment.TEST,
        expires_at=key.expires_at,
        allowed_ips=tuple(key.allowed_ips),
        rate_limit=min(key.rate_limit or plan_limit, plan_limit),
        plan_limit=plan_limit,
    )


# --- the rule -------------------------------------------------------------------


def _check_permissions(ceiling: Ceiling, permissions: list[str], *, creating: bool) -> None:
    if creating and any(p in PRIVILEGED_PERMISSIONS for p in permissions):
        raise Forbidden("Only an operator can grant the verify permission.")
    if not may_grant(role=ceiling.role, permissions=permissions):
        raise Forbidden(
            "Your role allows keys with named permissions only, and neither keys nor billing."
        )
    if not permissions:
        if not ceiling.grants_all:
            raise Forbidden(
                "A key with every permission is stronger than this credential; "
                "list the permissions the key needs."
            )
        return
    missing = [p for p in permissions if not ceiling.grants(p)]
    if missing:
        raise Forbidden(f"This credential cannot grant {', '.join(missing)}.")


def _networks(entries: list[str] | tuple[str, ...]) -> list[Any]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _inside(inner: Any, outers: list[Any]) -> bool:
    return any(inner.version == outer.version and inner.subnet_of(outer) for outer in outers)


def _check_allowed_ips(ceiling: Ceiling, allowed_ips: list[str] | tuple[str, ...]) -> None:
    if not ceiling.allowed_ips:
        return
    if not allowed_ips:
        raise Forbidden("A credential with an allow-list cannot make an unrestricted key.")
    outers = _networks(ceiling.allowed_ips)
    wider = [str(n) for n in _networks(allowed_ips) if not _inside(n, outers)]
    if wider:
        raise Forbidden(f"Outside this credential's allow-list: {', '.join(wider)}.")


def _check_expiry(ceiling: Ceiling, expires_at: datetime) -> None:
    # The leeway: two keys made moments apart with the default expiry are equals.
    if ceiling.expires_at is not None and expires_at > ceiling.expires_at + EXPIRY_LEEWAY:
        raise Forbidden("A key cannot outlive the credential that makes it.")


def _check_rate_limit(ceiling: Ceiling, effective: int) -> None:
    if effective > ceiling.plan_limit:
        raise Forbidden(
            f"A key's rate limit can only lower its plan's ({ceiling.plan_limit} per minute)."
        )
    if effective > ceiling.rate_limit:
        raise Forbidden(
            f"A key's rate limit cannot exceed this credential's ({ceiling.rate_limit} per minute)."
        )


@dataclass(frozen=True, slots=True)
class Bounded:
    """A create request's values, with the caller's bounds filled in where omitted."""

    permissions: list[str]
    rate_limit: int | None
    allowed_ips: list[str]
    expires_at: datetime


def check_create(
    ceiling: Ceiling,
    *,
    permissions: Any,
    environment: str,
    rate_limit: int | None,
    allowed_ips: Any,
    expires_at: datetime | None,
) -> Bounded:
    """Refuse a key stronger than `ceiling`. What the request leaves out is inherited
    from the caller (its expiry, allow-list and rate limit), never widened."""
    # Input errors are 400s first; only then is a well-formed request judged (403).
    permissions = clean_permissions(permissions or [])
    rate_limit = clean_rate_limit(rate_limit)
    _check_permissions(ceiling, permissions, creating=True)
    if ceiling.test_only and environment != Environment.TEST:
        raise Forbidden("A test key can only create test keys.")
    now = timezone.now()
    if expires_at is None:
        expires_at = clean_expires_at(None, now=now)
        if ceiling.expires_at is not None:
            expires_at = min(expires_at, ceiling.expires_at)
    else:
        expires_at = clean_expires_at(expires_at, now=now)
    _check_expiry(ceiling, expires_at)
    if allowed_ips is None:
        allowed_ips = list(ceiling.allowed_ips)
    allowed_ips = clean_allowed_ips(allowed_ips)
    _check_allowed_ips(ceiling, allowed_ips)
    if rate_limit is None and ceiling.rate_limit < ceiling.plan_limit:
        rate_limit = ceiling.rate_limit
    _check_rate_limit(ceiling, rate_limit if rate_limit is not None else ceiling.plan_limit)
    return Bounded(permissions, rate_limit, allowed_ips, expires_at)


def check_manage(ceiling: Ceiling, key: APIKey) -> None:
    """Refuse regenerating or revoking `key` when it is stronger than `ceiling`, or
    when the caller's role does not cover it (a member: only keys they created)."""
    if not may_manage_key(
        role=ceiling.role, user_id=ceiling.user_id, key_created_by_id=key.created_by_id
    ):
        raise Forbidden("Your role does not allow managing this key.")
    if ceiling.test_only and key.environment != Environment.TEST:
        raise Forbidden("A test key can only manage test keys.")
    _check_permissions(ceiling, list(key.permissions), creating=False)
    _check_expiry(ceiling, key.expires_at)
    _check_allowed_ips(ceiling, tuple(key.allowed_ips))
    plan_limit = ceiling.plan_limit
    _check_rate_limit(ceiling, min(key.rate_limit or plan_limit, plan_limit))
