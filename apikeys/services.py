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
from apikeys import keycache, keyformat
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
    with transaction.atomic():
        # The organization's row lock serialises creations, so the cap holds under
        # concurrency (two requests at 24 keys cannot both make the 25th).
        org = Organization.objects.select_for_update().get(
            pk=getattr(organization, "pk", organization)
        )
        # Counted in its own statement, after the lock is held: a statement's
        # snapshot is taken when it starts, so a count in the locking query
        # itself could miss a key committed by the transaction it waited for.
        active = active_key_count(org)
        if replacing_oldest is not None and active >= settings.API_KEY_MAX_ACTIVE:
            oldest = oldest_active_key(organization=org, name=name)
            if oldest is not None:
                apikey_revoke(
                    key=oldest,
                    actor_id=getattr(created_by, "pk", created_by),
                    actor_ip=actor_ip,
                    reason=replacing_oldest,
                )
            active = active_key_count(org)
        _refuse_at_cap(active)
        key = APIKey.objects.create(
            organization=org,
            created_by_id=getattr(created_by, "pk", created_by),
            name=name,
            environment=environment,
            permissions=permissions,
            rate_limit=rate_limit,
            allowed_ips=allowed_ips,
            digest=keyformat.digest(full_key),
            hint=keyformat.hint(full_key),
            expires_at=expires_at,
        )
        _audit(
            key,
            EventAction.CREATED,
            actor_id=getattr(created_by, "pk", created_by),
            actor_key_id=actor_key_id,
            ip=actor_ip,
            details={"name": name, "environment": environment},
        )
    return key, full_key


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
