"""The hot-path key check: `apikey_verify` is the one way to check a presented key
(the DRF authentication class and the remote verify endpoint both call it), and
recording a key's use (lastUsedAt, first use from an address).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.principal import Principal
from apikeys import keycache, keyformat
from apikeys.keycache import KeyInfo
from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.usage import usage_flush
from config import cache as shared_cache
from config import ratelimit

logger = logging.getLogger("gatehouse.apikeys")


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
        shared_cache.key_cache_unavailable()
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
            # The requests per day, counted in the cache, move in the same batch.
            usage_flush(
                digest=digest,
                key_id=info.key_id,
                organization_id=info.organization_id,
                day=timezone.now().date(),
            )
        if (
            ip is not None
            and not hot.seen_address
            and keycache.add_guard(keycache.seen_key(digest, ip), keycache.SEEN_GUARD_SECONDS)
        ):
            _note_address(info, ip)
    except DatabaseError:
        # Usage tracking must not fail a request that was authenticated correctly.
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
