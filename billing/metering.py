"""Metering: a view declares its price and each call pays it from the ledger.

    class EchoView(APIView):
        permission_classes = [HasPermission("chat:write")]

        @Metered(lambda: settings.ECHO_PRICE_USD, serializer=EchoInput)
        def post(self, request, validated):
            ...

`Metered` decorates the handler (an APIView method, or a function under
`@api_view`) rather than being a permission class, because DRF checks
permissions *before* throttles: a price taken in `has_permission` would be
charged to a request that the rate limit then refuses. Inside the handler,
authentication, permissions and throttles have all passed, so the order is the
DESIGN's: throttle, then metering, then the view.

A call is debited before the view runs (one conditional UPDATE plus a ledger
row, through `billing.services.credits_debit`), or answered with 402
INSUFFICIENT_CREDITS and nothing changes. Test-environment keys are never
charged. When the view then fails with a 5xx, the debit is refunded through the
ledger (kind `refund`, reference `refund:<debit reference>`, so at most once).
Input errors must not cost anything, so a view passes its input serializer and
the decorator validates before it charges.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rest_framework.request import Request
from rest_framework.serializers import Serializer

from accounts.principal import Principal, is_charged
from billing import services
from billing.models import EntryKind
from billing.money import format_usd, parse_usd
from billing.paid import pay_per_request
from billing.x402 import carries_payment
from config.errors import InsufficientCredits, Unauthorized, status_of

logger = logging.getLogger("gatehouse.metering")

Price = str | int | Decimal
PriceSource = Price | Callable[[], Price]


@dataclass(frozen=True, slots=True)
class Charge:
    """What one metered call paid; `request.charge` holds it while the view runs."""

    organization_id: uuid.UUID
    amount_micros: int
    reference: str
    balance_after_micros: int

    @property
    def amount(self) -> str:
        return format_usd(self.amount_micros)


def price_micros(price: PriceSource) -> int:
    """A declared price in micro-USD (zero is allowed: a free endpoint)."""
    value = price() if callable(price) else price
    return parse_usd(value, field="price", allow_zero=True)


def charge_request(request: Request, amount_micros: int) -> Charge | None:
    """Debit the caller's organization for this request, or raise 402.

    Returns None when nothing is charged (a free price, a test-environment key).
    The reference is unique per call and generated here: the request id may come
    from the client (X-Request-ID), and a reference the client can repeat would
    turn a second call into a free replay of the first one's debit.
    """
    principal = request.auth
    if not isinstance(principal, Principal):
        # Permission classes run first; a metered view without authentication
        # is a programming error, and failing closed is the safe answer.
        raise Unauthorized()
    if amount_micros == 0 or not is_charged(principal.environment):
        return None
    request_id = getattr(request, "request_id", "")
    reference = f"req:{uuid.uuid4().hex}"
    try:
        result = services.credits_debit(
            organization=principal.organization_id,
            amount_micros=amount_micros,
            kind=EntryKind.USAGE,
            reference=reference,
            description=f"{request.method} {request.path}"[:500],
            metadata={
                "requestId": request_id,
                "method": request.method,
                "path": request.path[:200],
                "authMethod": str(principal.method),
                "keyId": str(principal.key_id) if principal.key_id else None,
            },
        )
    except InsufficientCredits as exc:
        # The 402 of a metered call names the balance and the price.
        balance = (exc.details or {}).get("balance")
        raise InsufficientCredits(
            details={"balance": balance, "price": format_usd(amount_micros)}
        ) from None
    return Charge(
        organization_id=principal.organization_id,
        amount_micros=amount_micros,
        reference=reference,
        balance_after_micros=result.entry.balance_after_micros,
    )


def refund_charge(charge: Charge, *, status: int, request_id: str = "") -> None:
    """Give a failed call its credits back, once; never mask the original error."""
    try:
        services.credits_grant(
            organization=charge.organization_id,
            amount_micros=charge.amount_micros,
            kind=EntryKind.REFUND,
            reference=f"refund:{charge.reference}",
            description=f"Refund: the request failed with {status}",
            metadata={"requestId": request_id, "status": status, "debit": charge.reference},
        )
    except Exception:
        # The debit stands and the ledger still balances; an operator can refund
        # by hand from this log line.
        logger.exception("Refund of %s µUSD (%s) failed", charge.amount_micros, charge.reference)


class Metered:
    """Decorator declaring a handler's price in USD ("0.002", or a callable
    returning it so that a setting is read per call)."""

    def __init__(self, price: PriceSource, *, serializer: type[Serializer] | None = None):
        if not callable(price):
            price_micros(price)  # a bad constant fails at import, not per request
        self.price = price
        self.serializer = serializer

    def __call__(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def metered_handler(*args: Any, **kwargs: Any) -> Any:
            request = next(arg for arg in args if isinstance(arg, Request))
            if self.serializer is not None:
                serializer = self.serializer(data=request.data)
                serializer.is_valid(raise_exception=True)
                kwargs["validated"] = serializer.validated_data
            if not isinstance(request.auth, Principal) and carries_payment(request):
                # No credentials, an x402 payment: it pays instead of credits.
                request.charge = None  # type: ignore[attr-defined]
                return pay_per_request(
                    request, price_micros(self.price), lambda: handler(*args, **kwargs)
                )
            charge = charge_request(request, price_micros(self.price))
            request.charge = charge  # type: ignore[attr-defined]
            request_id = getattr(request, "request_id", "")
            try:
                response = handler(*args, **kwargs)
            except Exception as exc:
                if charge is not None and status_of(exc) >= 500:
                    refund_charge(charge, status=status_of(exc), request_id=request_id)
                raise
            if charge is not None and response.status_code >= 500:
                refund_charge(charge, status=response.status_code, request_id=request_id)
            return response

        metered_handler.metered = self  # type: ignore[attr-defined]  (for docs and tests)
        return metered_handler
