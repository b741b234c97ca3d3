"""Remote key verification for gateways and services not written in Django.

`key_verify_remote` answers "may this key make this call, and pay for it?" in
the order of SPEC §4, each step only when the ones before it passed:

    NOT_FOUND, EXPIRED, REVOKED, FORBIDDEN      (apikeys.check.apikey_check_and_count)
    INSUFFICIENT_PERMISSIONS                    (the permissions asked for)
    RATE_LIMITED                                (the key's own counter, counted here)
    INSUFFICIENT_CREDITS                        (the debit of `cost`)

so a key is counted against its rate limit only once it got that far, and
credits are spent only when everything else passes. On Redis the checks up to
the count, and the organization's cached balance (billing.balances), take one
round trip; a cost adds the debit's one SQL statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from accounts.principal import is_charged, permits
from apikeys import keyformat, verifyread
from apikeys.check import (
    KeyCheck,
    KeyCode,
    KeyInfo,
    apikey_check_and_count,
    apikey_verify,
    caller_plan,
    verify_plan,
)
from billing import balances, services
from billing.models import EntryKind
from config import ratelimit
from config.errors import Conflict, InsufficientCredits

# The key check's codes, then the steps only the verify endpoint takes.
VerifyCode = StrEnum(
    "VerifyCode",
    [(code.name, code.value) for code in KeyCode]
    + [
        (step, step)
        for step in ("INSUFFICIENT_PERMISSIONS", "RATE_LIMITED", "INSUFFICIENT_CREDITS")
    ],
)


@dataclass(frozen=True, slots=True)
class Verification:
    code: VerifyCode
    key: KeyInfo | None = None  # the key, whenever it exists
    rate: ratelimit.RateState | None = None  # once the rate step was reached
    credits_remaining_micros: int | None = None  # once the credits step was reached
    charged_micros: int = 0

    @property
    def valid(self) -> bool:
        return self.code is VerifyCode.VALID


def debit_reference(
    *, caller_key_id: uuid.UUID | None, key_id: uuid.UUID, request_id: str | None
) -> str:
    """The caller's requestId makes a retried verification a no-op. It is scoped to
    the calling key (SPEC §4): one gateway's ids can neither collide with another's
    nor turn another gateway's request into a free "retry". Without one, every call
    is its own debit. (Fits the ledger's 200 characters: ids are at most 100.)"""
    if request_id and caller_key_id is not None:
        return f"verify:{caller_key_id.hex}:{key_id.hex}:{request_id}"
    return f"verify:{uuid.uuid4().hex}"


def permitted_for(permissions: tuple[str, ...]) -> Callable[[KeyInfo], bool]:
    """Does a key hold every permission a verify call asks for?"""
    return lambda key: all(permits(key.permissions, name) for name in permissions)


def verify_caller_with_key(
    raw: str, *, ip: str | None, data: dict[str, Any]
) -> tuple[KeyCheck, verifyread.Read, keyformat.ParsedKey] | None:
    """The caller's key check (as APIKeyAuthentication makes it) and the checked
    key's read for a validated verify body, in one round trip, with the checked
    key as parsed (for key_verify_remote: each key is parsed and hashed once per
    request). The checked key is counted there only if the caller will pass
    (valid, holding `verify`, within its limit) and so will the key. None when
    the cache cannot do it (no Redis, or not now: the general path then runs,
    and logs)."""
    wanted = tuple(data.get("permissions", ()))
    caller_key = keyformat.presented(raw)
    checked_key = keyformat.presented(data["key"])
    if caller_key is None or checked_key is None:
        return None
    caller = caller_plan(caller_key, ip=ip, may_call=lambda p: p.has_permission("verify"))
    if caller is None:
        return None
    plan = verify_plan(
        checked_key.digest, ip=data.get("ip"), permissions=wanted, permitted=permitted_for(wanted)
    )
    try:
        hot, checked = verifyread.read(plan, caller)
    except Exception:
        return None
    return apikey_verify(caller_key, ip=ip, failures_from=ip, hot=hot), checked, checked_key


def key_verify_remote(
    *,
    raw_key: str | keyformat.ParsedKey,
    permissions: Iterable[str] = (),
    cost_micros: int = 0,
    ip: str | None = None,
    request_id: str | None = None,
    caller_key_id: uuid.UUID | None = None,
    prefetched: verifyread.Read | None = None,
) -> Verification:
    """Check `raw_key` for a gateway and, when everything passes, charge `cost_micros`.

    `ip` is the address the key's user called the gateway from; a key with an
    allow-list is FORBIDDEN when it is missing. Test-environment keys are never
    charged. Raises Conflict when `request_id` was already used with another cost.
    `prefetched`: the checked key as read together with the caller's key
    (apikeys.authentication), used when it read this key for this call.
    `raw_key` may be the key as already parsed then (keyformat.presented).
    """
    wanted = tuple(permissions)
    charged = cost_micros != 0
    counted = apikey_check_and_count(
        raw_key,
        ip=ip,
        permissions=wanted,
        permitted=permitted_for(wanted),
        prefetched=prefetched,
        # The use is audited with the verifying key as its actor (SPEC §4).
        actor_key_id=caller_key_id,
    )
    check, info = counted.check, counted.check.key
    if check.code is not KeyCode.VALID or info is None:
        return Verification(VerifyCode(check.code.value), key=info)
    if not counted.permitted:
        return Verification(VerifyCode.INSUFFICIENT_PERMISSIONS, key=info)

    rate = counted.rate
    if rate is None or not rate.allowed:
        return Verification(VerifyCode.RATE_LIMITED, key=info, rate=rate)

    if not charged or not is_charged(info.environment):
        balance = counted.balance_micros
        if balance is None:
            balance = balances.balance_read(info.organization_id)
        return Verification(VerifyCode.VALID, key=info, rate=rate, credits_remaining_micros=balance)

    reference = debit_reference(
        caller_key_id=caller_key_id, key_id=info.key_id, request_id=request_id
    )
    try:
        result = services.credits_debit(
            organization=info.organization_id,
            amount_micros=cost_micros,
            kind=EntryKind.USAGE,
            reference=reference,
            description="Verified by a gateway",
            metadata={
                "keyId": str(info.key_id),
                "verifiedBy": str(caller_key_id) if caller_key_id else None,
                "requestId": request_id,
            },
        )
    except InsufficientCredits:
        balance = services.balance_micros(organization=info.organization_id)
        return Verification(
            VerifyCode.INSUFFICIENT_CREDITS, key=info, rate=rate, credits_remaining_micros=balance
        )
    if not result.created:
        # A retry of a verification already charged: charge nothing again, and
        # refuse a reused requestId that names a different amount.
        if result.entry.amount_micros != -cost_micros:
            raise Conflict(
                "This requestId was already used with a different cost.",
                details={"fields": {"requestId": ["Already used with a different cost."]}},
            )
        balance = services.balance_micros(organization=info.organization_id)
        return Verification(VerifyCode.VALID, key=info, rate=rate, credits_remaining_micros=balance)
    return Verification(
        VerifyCode.VALID,
        key=info,
        rate=rate,
        credits_remaining_micros=result.entry.balance_after_micros,
        charged_micros=cost_micros,
    )
