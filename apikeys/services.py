"""Every write to API keys: create, regenerate, revoke, and publishing the result.

Writes run in `transaction.atomic` and leave an audit event; once they commit
they overwrite the key's cached records (`keycache.publish`), so every server
process sees a revocation on its next request. The full key is returned to the
caller exactly once and exists nowhere else.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.principal import Environment
from apikeys import capped, keycache, keyformat
from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.selectors import _refuse_at_cap, active_key_count, oldest_active_key
from apikeys.validation import (
    clean_allowed_ips,
    clean_environment,
    clean_expires_at,
    clean_grace_period,
    clean_name,
    clean_permissions,
    clean_rate_limit,
)
from config.errors import Conflict

logger = logging.getLogger("gatehouse.apikeys")


def _audit(
    key: APIKey,
    action: str,
    *,
    actor_id: Any = None,
    actor_key_id: Any = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> APIKeyEvent:
    return APIKeyEvent.objects.create(
        key=key,
        organization_id=key.organization_id,
        action=action,
        actor_id=actor_id,
        actor_key_id=actor_key_id,
        ip=ip,
        details=details or {},
    )


def _publish_on_commit(key: APIKey, digests: Iterable[str | None]) -> None:
    """After commit, overwrite the cached record of every digest the change touched."""
    pk = key.pk
    wanted = [d for d in dict.fromkeys(digests) if d]

    def publish() -> None:
        fresh = APIKey.objects.select_related("organization").get(pk=pk)
        try:
            keycache.publish({d: keycache.build_record(fresh, d) for d in wanted})
        except Exception:
            # The row is the truth; a cache we cannot write cannot serve stale
            # "valid" records either once their TTL ends. Say so loudly.
            logger.exception("Could not publish API key %s to the cache", pk)

    transaction.on_commit(publish)


def _mark_known(digest: str, expires: float) -> None:
    try:
        keycache.mark_known(digest, expires=expires)
    except Exception:
        # Only costs the key its pass through an address locked out for failures.
        logger.exception("Could not mark a new API key as known in the cache")


def apikey_create(
    *,
    organization: Organization | uuid.UUID,
    created_by: Any = None,
    name: str,
    permissions: Iterable[str] = (),
    environment: str = Environment.LIVE,
    rate_limit: int | None = None,
    allowed_ips: Iterable[str] = (),
    expires_at: datetime | None = None,
    actor_ip: str | None = None,
    actor_key_id: uuid.UUID | None = None,
    replacing_oldest: str | None = None,
) -> tuple[APIKey, str]:
    """Create a key; returns the row and the full key, which the caller shows once.

    `organization` and `created_by` may be instances or primary keys.
    `replacing_oldest`: at the cap of active keys, the oldest active key with the
    same name is revoked, with this as the audit reason, in the same transaction
    and under the same lock (a SIWE sign-in retires its oldest sign-in key); keys
    made any other way are never touched. Without one to retire, or without
    `replacing_oldest`, the answer at the cap is KeyLimitReached.
    """
    now = timezone.now()
    name = clean_name(name)
    permissions = clean_permissions(permissions)
    environment = clean_environment(environment)
    rate_limit = clean_rate_limit(rate_limit)
    allowed_ips = clean_allowed_ips(allowed_ips)
    expires_at = clean_expires_at(expires_at, now=now)
    full_key = keyformat.generate(environment)
    org_id = getattr(organization, "pk", organization)
    creator_id = getattr(created_by, "pk", created_by)
    key = APIKey(
        organization_id=org_id,
        created_by_id=creator_id,
        name=name,
        environment=environment,
        permissions=permissions,
        rate_limit=rate_limit,
        allowed_ips=allowed_ips,
        digest=keyformat.digest(full_key),
        hint=keyformat.hint(full_key),
        expires_at=expires_at,
    )
    if isinstance(organization, Organization):
        key.organization = organization
    details = {"name": name, "environment": environment}
    if capped.available():
        active = capped.insert_under_cap(
            key,
            cap=settings.API_KEY_MAX_ACTIVE,
            now=now,
            actor_id=creator_id,
            actor_key_id=actor_key_id,
            ip=actor_ip,
            details=details,
        )
        if active is None:
            return _created(key, full_key)
        if replacing_oldest is None:
            _refuse_at_cap(active)
        # At the cap with a key to retire: the general path, which counts again
        # under the same lock.
    with transaction.atomic():
        _create_locked(key, replacing_oldest=replacing_oldest, actor_ip=actor_ip)
        _audit(
            key,
            EventAction.CREATED,
            actor_id=creator_id,
            actor_key_id=actor_key_id,
            ip=actor_ip,
            details=details,
        )
    return _created(key, full_key)


def _created(key: APIKey, full_key: str) -> tuple[APIKey, str]:
    """Once the new key commits, it is known to the cache (apikeys.keycache)."""
    digest, expires = key.digest, key.expires_at.timestamp()
    transaction.on_commit(lambda: _mark_known(digest, expires))
    return key, full_key


def _create_locked(key: APIKey, *, replacing_oldest: str | None, actor_ip: str | None) -> None:
    """The ORM path of apikey_create: the organization's row lock, the count, the
    retirement of the oldest same-named key at the cap when asked, and the insert.
    (In the caller's transaction.atomic; the audit event follows.)"""
    # The organization's row lock serialises creations, so the cap holds under
    # concurrency (two requests at 24 keys cannot both make the 25th).
    org = Organization.objects.select_for_update().get(pk=key.organization_id)
    # Counted in its own statement, after the lock is held: a statement's
    # snapshot is taken when it starts, so a count in the locking query
    # itself could miss a key committed by the transaction it waited for.
    active = active_key_count(org)
    if replacing_oldest is not None and active >= settings.API_KEY_MAX_ACTIVE:
        oldest = oldest_active_key(organization=org, name=key.name)
        if oldest is not None:
            apikey_revoke(
                key=oldest,
                actor_id=key.created_by_id,
                actor_ip=actor_ip,
                reason=replacing_oldest,
            )
        active = active_key_count(org)
    _refuse_at_cap(active)
    key.organization = org
    key.save(force_insert=True)


def apikey_regenerate(
    *,
    key: APIKey,
    grace_period_seconds: int = 0,
    actor_id: Any = None,
    actor_key_id: uuid.UUID | None = None,
    actor_ip: str | None = None,
) -> tuple[APIKey, str]:
    """New secret, same id. The old secret dies now, or when the grace period ends."""
    grace = clean_grace_period(grace_period_seconds)
    now = timezone.now()
    with transaction.atomic():
        locked = APIKey.objects.select_for_update().select_related("organization").get(pk=key.pk)
        if locked.revoked_at is not None:
            raise Conflict("This API key has been revoked; create a new one.")
        if locked.expires_at <= now:
            raise Conflict("This API key has expired; create a new one.")
        dropped = locked.previous_digest  # a secret replaced earlier loses any grace left
        old_digest = locked.digest
        full_key = keyformat.generate(locked.environment)
        locked.previous_digest = old_digest
        locked.previous_digest_expires_at = now + timedelta(seconds=grace)
        locked.digest = keyformat.digest(full_key)
        locked.hint = keyformat.hint(full_key)
        locked.regenerated_at = now
        locked.save(
            update_fields=[
                "previous_digest",
                "previous_digest_expires_at",
                "digest",
                "hint",
                "regenerated_at",
            ]
        )
        _audit(
            locked,
            EventAction.REGENERATED,
            actor_id=actor_id,
            actor_key_id=actor_key_id,
            ip=actor_ip,
            details={"gracePeriodSeconds": grace},
        )
        _publish_on_commit(locked, [locked.digest, old_digest, dropped])
    return locked, full_key


def apikey_revoke(
    *,
    key: APIKey,
    actor_id: Any = None,
    actor_key_id: uuid.UUID | None = None,
    actor_ip: str | None = None,
    reason: str = "",
) -> APIKey:
    """Soft, immediate and irreversible; ends a regeneration's grace period too.
    Revoking a revoked key changes nothing."""
    with transaction.atomic():
        locked = APIKey.objects.select_for_update().select_related("organization").get(pk=key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            _audit(
                locked,
                EventAction.REVOKED,
                actor_id=actor_id,
                actor_key_id=actor_key_id,
                ip=actor_ip,
                details={"reason": reason[:200]} if reason else None,
            )
        # Published even when already revoked: heals a cache that missed the first time.
        _publish_on_commit(locked, [locked.digest, locked.previous_digest])
    return locked


def forget_organization_keys(organization_id: uuid.UUID) -> None:
    """Drop the cached records of an organization's keys (its plan, hence limits, changed)."""
    digests: list[str] = []
    for digest, previous in APIKey.objects.filter(organization_id=organization_id).values_list(
        "digest", "previous_digest"
    ):
        digests.append(digest)
        if previous:
            digests.append(previous)
    if digests:
        keycache.forget(digests)


def apikeys_revoke_created_by(
    *, user_id: uuid.UUID, organization_id: uuid.UUID | None = None, reason: str
) -> int:
    """Revoke every active key `user_id` created (in one organization, or in all):
    their creator was deactivated, removed or lost the membership, and a key is no
    stronger than the person who made it (SPEC §1). Each revocation is published
    to the shared cache on commit, so every process refuses the keys at once.
    Returns how many keys were revoked."""
    keys = APIKey.objects.filter(created_by_id=user_id, revoked_at__isnull=True)
    if organization_id is not None:
        keys = keys.filter(organization_id=organization_id)
    revoked = 0
    for key in keys:
        apikey_revoke(key=key, reason=reason)
        revoked += 1
    return revoked
