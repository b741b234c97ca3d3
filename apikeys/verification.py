"""Remote key verification for gateways and services not written in Django.

`key_verify_remote` answers "may this key make this call, and pay for it?" in
the order of SPEC §4, each step only when the ones before it passed:

    NOT_FOUND, EXPIRED, REVOKED, FORBIDDEN      (apikeys.check.apikey_verify)
    INSUFFICIENT_PERMISSIONS                    (the permissions asked for)
    RATE_LIMITED                                (the key's own counter, counted here)
    INSUFFICIENT_CREDITS                        (the debit of `cost`)

so a key is counted against its rate limit only once it got that far, and
credits are spent only when everything else passes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from accounts.principal import is_charged, permits
from apikeys.check import KeyCode, KeyInfo, apikey_verify
from billing import services
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


def debit_reference(*, key_id: uuid.UUID, request_id: str | None) -> str:
    """The caller's requestId makes a retried verification a no-op (per key, so
    one caller's ids cannot collide with another's); without one, every call is
    its own debit."""
    if request_id:
        return f"verify:{key_id}:{request_id}"
    return f"verify:{uuid.uuid4().hex}"


def key_verify_remote(
    *,
    raw_key: str,
    permissions: Iterable[str] = (),
    cost_micros: int = 0,
    ip: str | None = None,
    request_id: str | None = None,
    caller_key_id: uuid.UUID | None = None,
) -> Verification:
    """Check `raw_key` for a gateway and, when everything passes, charge `cost_micros`.

    `ip` is the address the key's user called the gateway from; a key with an
    allow-list is FORBIDDEN when it is missing. Test-environment keys are never
    charged. Raises Conflict when `request_id` was already used with another cost.
    """
    check = apikey_verify(raw_key, ip=ip, count=False)
    if check.code is not KeyCode.VALID or check.key is None:
        return Verification(VerifyCode(check.code.value), key=check.key)
    info = check.key

    if not all(permits(info.permissions, wanted) for wanted in permissions):
        return Verification(VerifyCode.INSUFFICIENT_PERMISSIONS, key=info)

    rate = ratelimit.hit(info.rate_bucket, info.rate_limit)
    if not rate.allowed:
        return Verification(VerifyCode.RATE_LIMITED, key=info, rate=rate)

    if cost_micros == 0 or not is_charged(info.environment):
        balance = services.balance_micros(organization=info.organization_id)
        return Verification(VerifyCode.VALID, key=info, rate=rate, credits_remaining_micros=balance)

    reference = debit_reference(key_id=info.key_id, request_id=request_id)
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
