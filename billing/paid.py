"""x402 over HTTP for our views: the 402 answer, and pay-per-request.

A 402 is the project's error envelope plus what each protocol version's
clients read: the v2 `PAYMENT-REQUIRED` header and the v1 body fields
`x402Version` and `accepts`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.principal import Principal
from billing.models import PaymentStatus
from billing.payments import payment_fail, payment_settle, request_pay_reserve
from billing.x402 import (
    PaymentRefused,
    Terms,
    carries_payment,
    payment_required_parts,
    payment_response_header,
    read_payment,
    terms,
)
from config.errors import envelope


def or_paid(permission: type[BasePermission]) -> type[BasePermission]:
    """`permission`, or no credentials at all and an x402 payment header (which
    then pays for the call). Callers with credentials are judged by `permission`
    alone, with its own message."""

    class OrPaid(permission):  # type: ignore[misc, valid-type]
        def has_permission(self, request: Any, view: Any) -> bool:
            if not isinstance(request.auth, Principal) and carries_payment(request):
                return True
            return super().has_permission(request, view)

    OrPaid.__name__ = f"{permission.__name__}OrPaid"
    return OrPaid


def refusal(
    exc: PaymentRefused, terms: Terms, amount_atomic: int, *, resource: str, description: str
) -> Response:
    body = envelope(exc.code, exc.message, exc.details)
    headers: dict[str, str] = {}
    if exc.status_code == 402:
        headers, v1 = payment_required_parts(
            terms, amount_atomic, resource=resource, description=description, error=exc.message
        )
        body.update(v1)
    return Response(body, status=exc.status_code, headers=headers)


def pay_per_request(request: Request, price_micros: int, run: Callable[[], Response]) -> Response:
    """Run a metered handler paid by the request's own payment instead of credits.

    Verified and reserved before the handler runs; settled only when it
    succeeded (an x402 server charges for what it delivered), else released as
    failed without touching the chain.
    """
    if price_micros == 0:
        return run()
    current = terms()
    amount = current.atomic(price_micros)
    resource = request.build_absolute_uri()
    description = f"{request.method} {request.path}"
    try:
        incoming = read_payment(request, current, amount)
        assert incoming is not None  # CarriesPayment let it in
        payment = request_pay_reserve(incoming=incoming, resource=request.path)
    except PaymentRefused as exc:
        return refusal(exc, current, amount, resource=resource, description=description)
    request.payment = payment  # type: ignore[attr-defined]
    try:
        response = run()
    except Exception:
        payment_fail(payment_id=payment.id, reason="the request failed; not settled")
        raise
    if response.status_code >= 400:
        payment_fail(payment_id=payment.id, reason=f"the request failed ({response.status_code})")
        return response
    try:
        outcome = payment_settle(payment=payment, incoming=incoming)
    except PaymentRefused as exc:
        return refusal(exc, current, amount, resource=resource, description=description)
    for name, value in payment_response_header(incoming.version, outcome.settle).items():
        response[name] = value
    if outcome.payment.status == PaymentStatus.PENDING:
        response["X-Payment-Status"] = "pending"
    return response
