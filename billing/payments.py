"""x402 payments: verify -> reserve -> settle -> credit, each step once.

The order is what makes a replayed payment harmless. Verification (signature,
amount, recipient, validity window, the simulated transfer) costs nothing on
chain. The reservation is an INSERT of the authorization's (network, payer,
nonce) under a unique constraint, committed before settling: of any number of
concurrent requests carrying one payment, in any number of processes, exactly
one inserts and goes on to settle; the others are refused. Settlement is asked
of the facilitator once (the SDK's own server helper retries a pending one,
which could broadcast a second, reverting transaction). Only a successful
settlement credits, in the same transaction that marks the row settled, with
the payment as the ledger reference.

A settlement whose receipt does not come in time is recorded `pending` with its
transaction hash; `reconcile_payments` (billing/reconcile.py) finishes it from
the chain.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from x402.schemas import SettleResponse

from accounts.selectors import wallet_account_find
from accounts.services import wallet_account_ensure
from accounts.wallet_address import checksum_address
from billing import services
from billing.models import EntryKind, Payment, PaymentKind, PaymentStatus
from billing.x402 import Incoming, PaymentRefused, facilitator, resource_server
from config.errors import ServiceUnavailable

logger = logging.getLogger("gatehouse.payments")

OPEN = (PaymentStatus.RESERVED, PaymentStatus.PENDING)

# The facilitator's verdicts in words a payer can act on. Its own message is
# not passed on: for a failed simulation it is the raw revert data.
VERIFY_MESSAGES = {
    "invalid_exact_evm_payload_signature": "The authorization's signature is not the payer's "
    "for this token and chain.",
    "invalid_exact_evm_payload_recipient_mismatch": "The authorization pays someone other "
    "than this server's recipient.",
    "invalid_exact_evm_payload_authorization_value_mismatch": "The authorization's value is "
    "not the amount required.",
    "invalid_exact_evm_payload_authorization_valid_before": "The authorization has expired "
    "(or expires too soon); sign a new one.",
    "invalid_exact_evm_payload_authorization_valid_after": "The authorization is not valid yet.",
    "invalid_exact_evm_nonce_already_used": "This authorization's nonce has already been used "
    "on chain.",
    "invalid_exact_evm_insufficient_balance": "The payer's token balance is too low for this "
    "payment.",
    "invalid_exact_evm_transaction_simulation_failed": "The transfer would fail on chain.",
    # An exception inside the facilitator's check, a malformed signature or the
    # chain's RPC failing alike: the payer can only try again.
    "invalid_exact_evm_failed_to_verify_signature": "The payment's signature could not be "
    "checked; try again.",
}


@dataclass(frozen=True)
class Outcome:
    payment: Payment
    settle: SettleResponse
    balance_micros: int | None  # the credited organization's balance (top-ups)


def ledger_reference(payment_id: uuid.UUID) -> str:
    return f"x402:{payment_id}"


def payment_verify(*, incoming: Incoming) -> None:
    """Ask the facilitator whether the payment would settle; 402 with its reason if not."""
    try:
        result = resource_server().verify_payment(incoming.payload, incoming.requirements)
    except (ServiceUnavailable, PaymentRefused):
        raise
    except Exception as exc:
        logger.exception("x402 verify failed")
        raise ServiceUnavailable(
            "The payment could not be verified now; try again.",
            details={"reason": "facilitator_unavailable"},
        ) from exc
    if not result.is_valid:
        reason = result.invalid_reason or "invalid_payment"
        # The SDK's own words (for an exception inside it, the exception's text).
        logger.warning("x402 verify refused: %s: %s", reason, result.invalid_message)
        message = VERIFY_MESSAGES.get(reason, f"The payment was refused ({reason}).")
        raise PaymentRefused(reason, message)


def payment_reserve(
    *,
    incoming: Incoming,
    kind: str,
    credit_micros: int = 0,
    organization_id: uuid.UUID | None = None,
    beneficiary: str = "",
    resource: str = "",
) -> Payment:
    """Insert the payment's reservation, or refuse a payment seen before."""
    req = incoming.requirements
    try:
        with transaction.atomic():
            return Payment.objects.create(
                kind=kind,
                x402_version=incoming.version,
                network=req.network,
                payer=incoming.payer,
                nonce=incoming.nonce,
                asset=req.asset,
                pay_to=req.pay_to,
                amount_atomic=int(req.amount),
                credit_micros=credit_micros,
                organization_id=organization_id,
                beneficiary=beneficiary,
                resource=resource[:200],
            )
    except IntegrityError:
        seen = (
            Payment.objects.filter(network=req.network, payer=incoming.payer, nonce=incoming.nonce)
            .only("status")
            .first()
        )
        if seen is not None and seen.status in OPEN:
            raise PaymentRefused(
                "payment_in_progress",
                "This payment is already being settled by another request.",
                status=409,
            ) from None
        raise PaymentRefused(
            "payment_already_used", "This payment authorization has already been used."
        ) from None


def payment_settle(*, payment: Payment, incoming: Incoming) -> Outcome:
    """Settle a reserved payment once and record what happened."""
    try:
        settled = facilitator().settle(incoming.payload, incoming.requirements)
    except Exception as exc:
        # Unknown whether anything was broadcast: pending, and reconcile reads the
        # authorization's state on chain.
        logger.exception("x402 settle raised for payment %s", payment.id)
        payment_mark_pending(payment_id=payment.id, tx_hash=None, reason=str(exc)[:300])
        raise ServiceUnavailable(
            "The settlement's outcome is not known yet; it will be reconciled.",
            details={"reason": "settlement_pending", "paymentId": str(payment.id)},
        ) from exc
    if settled.success:
        payment, balance = payment_complete(payment_id=payment.id, tx_hash=settled.transaction)
        return Outcome(payment, settled, balance)
    if settled.error_reason == "settlement_pending":
        payment = payment_mark_pending(
            payment_id=payment.id,
            tx_hash=settled.transaction or None,
            reason=settled.error_message or "",
        )
        return Outcome(payment, settled, None)
    reason = settled.error_reason or "settlement_failed"
    payment_fail(payment_id=payment.id, reason=f"{reason}: {settled.error_message or ''}")
    raise PaymentRefused(reason, f"The payment could not be settled: {reason}.")


def payment_complete(*, payment_id: uuid.UUID, tx_hash: str | None) -> tuple[Payment, int | None]:
    """Mark an open payment settled and credit a top-up, atomically and once.

    Returns the payment and the credited organization's balance after it (None
    for pay-per-request, or when another process completed it first).
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id, status__in=OPEN).first()
        if payment is None:
            return Payment.objects.get(pk=payment_id), None
        changes: dict = {"status": PaymentStatus.SETTLED, "settled_at": timezone.now()}
        if tx_hash and not payment.tx_hash:
            changes["tx_hash"] = tx_hash
        balance = None
        if payment.kind == PaymentKind.TOPUP:
            org_id = payment.organization_id or _beneficiary_org(payment.beneficiary)
            result = services.credits_grant(
                organization=org_id,
                amount_micros=payment.credit_micros,
                kind=EntryKind.TOPUP,
                reference=ledger_reference(payment.id),
                description=f"x402 top-up from {payment.payer}",
                metadata={
                    "paymentId": str(payment.id),
                    "network": payment.network,
                    "payer": payment.payer,
                    "transaction": tx_hash or payment.tx_hash,
                },
            )
            changes.update(organization_id=org_id, ledger_entry_id=result.entry.pk)
            balance = result.entry.balance_after_micros
        Payment.objects.filter(pk=payment.pk).update(**changes)
        payment.refresh_from_db()
    return payment, balance


def payment_mark_pending(*, payment_id: uuid.UUID, tx_hash: str | None, reason: str) -> Payment:
    changes: dict = {"status": PaymentStatus.PENDING, "failure_reason": reason[:300]}
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status not in OPEN:
            return payment
        if tx_hash and not payment.tx_hash:
            changes["tx_hash"] = tx_hash
        Payment.objects.filter(pk=payment_id).update(**changes)
        payment.refresh_from_db()
    return payment


def payment_fail(*, payment_id: uuid.UUID, reason: str) -> None:
    Payment.objects.filter(pk=payment_id, status__in=OPEN).update(
        status=PaymentStatus.FAILED, failure_reason=reason[:300]
    )


def _beneficiary_org(address: str) -> uuid.UUID:
    """The organization of the wallet a top-up names (or of its payer), created
    if new: it gets what was paid, not the sign-up bonus."""
    checksummed = checksum_address(address)
    found = wallet_account_find(address=checksummed)
    _, organization, _ = wallet_account_ensure(address=checksummed, found=found)
    return organization.pk


def topup_pay(
    *,
    incoming: Incoming,
    credit_micros: int,
    organization_id: uuid.UUID | None,
    beneficiary: str,
    resource: str,
) -> Outcome:
    """The whole top-up: verify, reserve, settle, credit."""
    payment_verify(incoming=incoming)
    payment = payment_reserve(
        incoming=incoming,
        kind=PaymentKind.TOPUP,
        credit_micros=credit_micros,
        organization_id=organization_id,
        beneficiary="" if organization_id else (beneficiary or incoming.payer),
        resource=resource,
    )
    return payment_settle(payment=payment, incoming=incoming)


def request_pay_reserve(*, incoming: Incoming, resource: str) -> Payment:
    """Pay-per-request, first half: verify and reserve before the view runs."""
    payment_verify(incoming=incoming)
    return payment_reserve(incoming=incoming, kind=PaymentKind.REQUEST, resource=resource)
