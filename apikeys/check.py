"""The hot-path key check: `apikey_verify` is the one way to check a presented key
(the DRF authentication class and the remote verify endpoint both call it), and
recording a key's use (lastUsedAt, first use from an address).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from accounts.principal import Principal
from apikeys import keycache, keyformat, verifyread
from apikeys.keycache import KeyInfo
from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.usage import usage_flush
from billing import balances
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
    raw_key: str | keyformat.ParsedKey,
    *,
    ip: str | None = None,
    count: bool = True,
    failures_from: str | None = None,
    hot: keycache.HotRead | None = None,
    actor_key_id: uuid.UUID | None = None,
) -> KeyCheck:
    """Check a presented key.

    - A malformed key (prefix, length, alphabet, checksum) is refused with no I/O.
    - Otherwise one cache round trip; the database only on a cache miss.
    - `ip`: the caller's address, checked against the key's allow-list (a key with
      an allow-list and no address given is FORBIDDEN) and recorded as last used.
    - `count`: count this use against the key's per-minute limit (`KeyCheck.rate`).
    - `failures_from`: the address whose failed attempts are limited by
      AUTH_FAILURE_RATE; a failure counts against it, and once it is over the
      limit any failing key is `locked_out` (429), while a valid key still
      passes; a key the cache does not know costs a database lookup only within
      a small per-address budget.
    - `actor_key_id`: who reported this use, for the audit trail (the verifying
      key of a gateway); by default the key itself.
    - `hot`: the cache entries, already read (with the count, if `count`) by a
      caller that read more in the same round trip (the verify endpoint).
    - `raw_key` may be a key the caller already parsed (keyformat.presented).
    """
    parsed = keyformat.presented(raw_key)
    if parsed is None:
        return KeyCheck(KeyCode.NOT_FOUND, malformed=True)
    digest, hint = parsed.digest, parsed.hint
    fail_limit, _ = ratelimit.auth_failure_rate()
    try:
        if hot is None:
            hot = keycache.hot_read(digest, ip=ip, count=count, failures_from=failures_from)
    except Exception:
        shared_cache.key_cache_unavailable()
        hot = keycache.HotRead(None, None, 0, 0, used_recently=True, seen_address=True)
    over = failures_from is not None and hot.failures >= fail_limit
    now = keycache.now()

    record = hot.record
    if record is None:
        # A locked-out address still gets a real key looked up: one the cache knows
        # (created, regenerated or used within its lifetime), or a few unknown ones
        # a minute, so valid credentials pass while made-up keys buy no lookups.
        if over and not (hot.known or ratelimit.locked_out_lookup_allowed(failures_from)):
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
    _record_use(digest, info, ip, hot, actor_key_id=actor_key_id)
    return KeyCheck(code, key=info, principal=record.principal, hint=hint, rate=rate)


@dataclass(frozen=True, slots=True)
class CountedCheck:
    check: KeyCheck  # the key's check, without a count
    permitted: bool  # `permitted(key)` held (only asked of a valid key)
    rate: ratelimit.RateState | None  # counted: valid and permitted only
    balance_micros: int | None  # the organization's cached balance, when cached


Permitted = Callable[[KeyInfo], bool]


def verify_plan(
    digest: str, *, ip: str | None, permissions: tuple[str, ...], permitted: Permitted
) -> verifyread.Plan:
    """What the verify endpoint reads and counts for the key it checks."""
    guess = verifyread.last_seen(digest)
    expect, bucket, balance_name = b"", keycache.rate_bucket(digest), "-"
    if guess is not None:
        raw, record = guess
        bucket = keycache.rate_bucket(record.counter_digest)
        balance_name = balances.balance_key(record.info.organization_id)
        if _evaluate(record, ip, keycache.now()) is KeyCode.VALID and permitted(record.info):
            expect = raw
    window = ratelimit.window_end(bucket, keycache.RATE_PERIOD)
    counter = ratelimit.counter_key(bucket, keycache.RATE_PERIOD, window)
    return verifyread.Plan(digest, ip, permissions, expect, counter, window, balance_name)


def caller_plan(
    raw_key: str | keyformat.ParsedKey, *, ip: str | None, may_call: Callable[[Principal], bool]
) -> verifyread.CallerPlan | None:
    """The caller's part of the verify endpoint's round trip (None: malformed key)."""
    parsed = keyformat.presented(raw_key)
    if parsed is None:
        return None
    names = keycache.hot_names(parsed.digest, ip=ip, failures_from=ip)
    guess = verifyread.last_seen(parsed.digest)
    expect, limit = b"", 0
    if guess is not None:
        raw, record = guess
        if (
            record.counter_digest == parsed.digest  # counted where the script counts
            and _evaluate(record, ip, keycache.now()) is KeyCode.VALID
            and may_call(record.principal)
        ):
            expect, limit = raw, record.info.rate_limit
    return verifyread.CallerPlan(parsed.digest, ip, names, expect, limit)


def apikey_check_and_count(
    raw_key: str | keyformat.ParsedKey,
    *,
    ip: str | None,
    permissions: tuple[str, ...],
    permitted: Permitted,
    prefetched: verifyread.Read | None = None,
    actor_key_id: uuid.UUID | None = None,
) -> CountedCheck:
    """Check a key for a call and count it against its rate limit only if it is
    valid and `permitted` (the remote verify endpoint). On Redis: the round trip
    the caller's authentication made (`prefetched`, when it read this key for
    this address and these permissions), else one of its own, and a second one
    only when the key's record changed since this process last saw it; elsewhere
    apikey_verify plus a count."""
    parsed = keyformat.presented(raw_key)
    if parsed is None:
        return CountedCheck(KeyCheck(KeyCode.NOT_FOUND, malformed=True), False, None, None)
    digest = parsed.digest
    hot = prefetched
    if hot is None or (hot.plan.digest, hot.plan.ip, hot.plan.permissions) != (
        digest,
        ip,
        permissions,
    ):
        plan = verify_plan(digest, ip=ip, permissions=permissions, permitted=permitted)
        try:
            _, hot = verifyread.read(plan)
        except LookupError:  # no Redis: the general path
            return _check_then_count(raw_key, ip=ip, permitted=permitted, actor_key_id=actor_key_id)
        except Exception:
            shared_cache.key_cache_unavailable()
            return _check_then_count(raw_key, ip=ip, permitted=permitted, actor_key_id=actor_key_id)
    record = hot.record
    if record is None:  # not cached: the database, and the record cached for next time
        return _check_then_count(raw_key, ip=ip, permitted=permitted, actor_key_id=actor_key_id)
    code, info = _evaluate(record, ip, keycache.now()), record.info
    if code is not KeyCode.VALID:
        return CountedCheck(KeyCheck(code, key=info, hint=parsed.hint), False, None, None)
    check = KeyCheck(code, key=info, principal=record.principal, hint=parsed.hint)
    if not permitted(info):
        return CountedCheck(check, False, None, None)
    if hot.count is not None and hot.raw == hot.plan.expect:
        rate = ratelimit.state_from_count(hot.count, info.rate_limit, hot.plan.window)
    else:  # the record changed since this process last saw it, and still passes
        rate = ratelimit.hit(info.rate_bucket, info.rate_limit)
    used = keycache.HotRead(record, None, hot.plan.window, 0, hot.used_recently, hot.seen_address)
    _record_use(digest, info, ip, used, actor_key_id=actor_key_id)
    balance = None
    if hot.plan.balance_name == balances.balance_key(info.organization_id):
        balance = balances.from_raw(hot.balance_raw)
    return CountedCheck(check, True, rate, balance)


def _check_then_count(
    raw_key: str | keyformat.ParsedKey,
    *,
    ip: str | None,
    permitted: Permitted,
    actor_key_id: uuid.UUID | None = None,
) -> CountedCheck:
    check = apikey_verify(raw_key, ip=ip, count=False, actor_key_id=actor_key_id)
    if check.code is not KeyCode.VALID or check.key is None:
        return CountedCheck(check, False, None, None)
    if not permitted(check.key):
        return CountedCheck(check, False, None, None)
    rate = ratelimit.hit(check.key.rate_bucket, check.key.rate_limit)
    return CountedCheck(check, True, rate, None)


def _record_use(
    digest: str,
    info: KeyInfo,
    ip: str | None,
    hot: keycache.HotRead,
    *,
    actor_key_id: uuid.UUID | None = None,
) -> None:
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
            _note_address(info, ip, actor_key_id=actor_key_id or info.key_id)
    except (DatabaseError, RedisError, ConnectionInterrupted, OSError):
        # Usage tracking must not fail a request that was authenticated correctly:
        # not for the database, and not for a cache that timed out on the guard
        # (a 500 found by the soak in tests/faults/test_soak.py).
        logger.exception("Could not record the use of API key %s", info.key_id)


def _note_address(info: KeyInfo, ip: str, *, actor_key_id: uuid.UUID) -> None:
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
                actor_key_id=actor_key_id,
                ip=ip,
            )
    except IntegrityError:
        pass  # another process recorded the same first use a moment earlier
