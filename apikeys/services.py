"""Every write to API keys (create, regenerate, revoke) and the key check.

Writes run in `transaction.atomic` and leave an audit event; once they commit
they overwrite the key's cached records (`keycache.publish`), so every server
process sees a revocation on its next request. The full key is returned to the
caller exactly once and exists nowhere else.

`apikey_verify` is the one way to check a presented key: the DRF
authentication class and the remote verify endpoint both call it.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from accounts.models import Organization
from accounts.principal import KNOWN_PERMISSIONS, Principal
from apikeys import keycache, keyformat
from apikeys.errors import KeyLimitReached
from apikeys.keycache import KeyInfo
from apikeys.models import APIKey, APIKeyEvent, Environment, EventAction
from billing import ratelimit
from config.errors import Conflict, ValidationFailed

logger = logging.getLogger("gatehouse.apikeys")

MAX_RATE_LIMIT = 1_000_000  # requests per minute; above this is a typo, not a plan
MAX_ALLOWED_IPS = 100
MAX_PERMISSIONS = 50
MAX_GRACE_SECONDS = 86400
# A client computing "now + 365 days" on a slightly fast clock is not refused.
EXPIRY_LEEWAY = timedelta(minutes=5)


# --- validation ----------------------------------------------------------------


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details={"fields": {field: [message]}})


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


# --- writes -------------------------------------------------------------------------


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


def apikey_create(
    *,
    organization: Organization | uuid.UUID,
    created_by: Any = None,
    name: str,
    permissions: Iterable[str] = (),
    environment: str = "live",
    rate_limit: int | None = None,
    allowed_ips: Iterable[str] = (),
    expires_at: datetime | None = None,
    actor_ip: str | None = None,
    actor_key_id: uuid.UUID | None = None,
    make_room: Callable[[Organization], object] | None = None,
) -> tuple[APIKey, str]:
    """Create a key; returns the row and the full key, which the caller shows once.

    `organization` and `created_by` may be instances or primary keys.
    `make_room`: called with the locked organization when it is at its cap of
    active keys, in the same transaction and under the same lock, to revoke one
    (a SIWE sign-in retires its oldest sign-in key); the keys are then counted
    again, and if there is still no room the answer is KeyLimitReached.
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
        if make_room is not None and active >= settings.API_KEY_MAX_ACTIVE:
            make_room(org)
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


# --- the key check ------------------------------------------------------------------


class KeyCode(StrEnum):
    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    FORBIDDEN = "FORBIDDEN"  # used from an address outside its allow-list


@dataclass(frozen=True, slots=True)
class KeyCheck:
    code: KeyCode
    key: KeyInfo | None = None  # set whenever the key exists
    principal: Principal | None = None  # set when valid
    hint: str | None = None  # the presented key's hint, when it was well formed
    rate: ratelimit.RateState | None = None  # the key's rate window after this request
    malformed: bool = False  # rejected by format/checksum, without any I/O
    locked_out: bool = False  # the caller's address is over AUTH_FAILURE_RATE; no lookup made

    @property
    def valid(self) -> bool:
        return self.code is KeyCode.VALID


def _evaluate(record: keycache.KeyRecord, ip: str | None, now: float) -> KeyCode:
    # The order of SPEC §4: not found, expired, revoked, forbidden.
    if record.until is not None and record.until <= now:
        return KeyCode.NOT_FOUND  # a replaced secret whose grace period is over
    if record.expires <= now:
        return KeyCode.EXPIRED
    if record.revoked:
        return KeyCode.REVOKED
    if not keycache.ip_allowed(record.allowed_ips, ip):
        return KeyCode.FORBIDDEN
    return KeyCode.VALID


def apikey_verify(
    raw_key: str,
    *,
    ip: str | None = None,
    count: bool = True,
    failures_from: str | None = None,
) -> KeyCheck:
    """Check a presented key.

    - A malformed key (prefix, length, alphabet, checksum) is refused with no I/O.
    - Otherwise one cache round trip; the database only on a cache miss.
    - `ip`: the caller's address, checked against the key's allow-list (a key with
      an allow-list and no address given is FORBIDDEN) and recorded as last used.
    - `count`: count this use against the key's per-minute limit (`KeyCheck.rate`).
    - `failures_from`: the address whose failed attempts are limited by
      AUTH_FAILURE_RATE; a failure counts against it, and once it is over the
      limit anything but a valid key whose record is cached is `locked_out`
      without a database lookup.
    """
    parsed = keyformat.parse(raw_key) if len(raw_key) <= keyformat.MAX_HEADER_LENGTH else None
    if parsed is None:
        return KeyCheck(KeyCode.NOT_FOUND, malformed=True)
    digest, hint = parsed.digest, parsed.hint
    fail_limit, _ = ratelimit.auth_failure_rate()
    try:
        hot = keycache.hot_read(digest, ip=ip, count=count, failures_from=failures_from)
    except Exception:
        logger.exception("Cache unavailable while checking an API key; using the database")
        hot = keycache.HotRead(None, None, 0, 0, used_recently=True, seen_address=True)
    over = failures_from is not None and hot.failures >= fail_limit
    now = keycache.now()

    record = hot.record
    if record is None:
        if over:
            return KeyCheck(KeyCode.NOT_FOUND, hint=hint, locked_out=True)
        row = APIKey.objects.select_related("organization").with_digest(digest).first()
        if row is not None:
            data = keycache.build_record(row, digest)
            try:
                keycache.fill(digest, data)
            except Exception:
                logger.exception("Could not cache API key %s", row.pk)
            record = keycache.parse_record(data)
    code = KeyCode.NOT_FOUND if record is None else _evaluate(record, ip, now)
    if code is not KeyCode.VALID:
        if over:
            return KeyCheck(code, hint=hint, locked_out=True)
        ratelimit.count_auth_failure(failures_from)
        return KeyCheck(code, key=record.info if record else None, hint=hint)

    info = record.info
    rate = None
    if count:
        if record.counter_digest != digest:
            # A secret in its grace period counts against the key's current one.
            rate = ratelimit.hit(keycache.rate_bucket(record.counter_digest), info.rate_limit)
        elif hot.count is not None:
            rate = ratelimit.state_from_count(hot.count, info.rate_limit, hot.window)
    _record_use(digest, info, ip, hot)
    return KeyCheck(code, key=info, principal=record.principal, hint=hint, rate=rate)


def _record_use(digest: str, info: KeyInfo, ip: str | None, hot: keycache.HotRead) -> None:
    """lastUsedAt at most once a minute per key; an audit event for a new address.

    Both are guarded by a cache `add`, so the database sees one write per key per
    minute however many requests arrive, and none on a warm request.
    """
    try:
        if not hot.used_recently and keycache.add_guard(
            keycache.used_key(digest), keycache.USED_GUARD_SECONDS
        ):
            APIKey.objects.filter(pk=info.key_id).update(
                last_used_at=timezone.now(), last_used_ip=ip
            )
        if (
            ip is not None
            and not hot.seen_address
            and keycache.add_guard(keycache.seen_key(digest, ip), keycache.SEEN_GUARD_SECONDS)
        ):
            _note_address(info, ip)
    except (DatabaseError, RedisError, ConnectionInterrupted, OSError):
        # Usage tracking must not fail a request that was authenticated correctly:
        # not for the database, and not for a cache that timed out on the guard
        # (a 500 found by the soak in tests/faults/test_soak.py).
        logger.exception("Could not record the use of API key %s", info.key_id)


def _note_address(info: KeyInfo, ip: str) -> None:
    """Audit the first use of a key from an address (once per key and address)."""
    if APIKeyEvent.objects.filter(
        key_id=info.key_id, action=EventAction.NEW_ADDRESS, ip=ip
    ).exists():
        return
    try:
        with transaction.atomic():
            APIKeyEvent.objects.create(
                key_id=info.key_id,
                organization_id=info.organization_id,
                action=EventAction.NEW_ADDRESS,
                actor_key_id=info.key_id,
                ip=ip,
            )
    except IntegrityError:
        pass  # another process recorded the same first use a moment earlier
