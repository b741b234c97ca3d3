"""Finishing payments whose settlement outcome was not known at the time.

A settlement that timed out is `pending` with its transaction hash; one whose
facilitator call raised, or whose process died after reserving, has none. The
chain decides: the token's `AuthorizationUsed(payer, nonce)` event in a
successful transaction means the transfer happened, and the payment is
completed exactly as a live settlement would (credited once: the same
`payment_complete`, the same ledger reference). A reverted transaction, or an
authorization never used long after it expired, fails the payment.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

from django.conf import settings
from django.utils import timezone
from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3 import Web3
from web3.exceptions import TransactionNotFound

from billing.models import Payment, PaymentStatus
from billing.payments import OPEN, payment_complete, payment_fail
from config.errors import ServiceUnavailable

logger = logging.getLogger("gatehouse.payments")

AUTHORIZATION_USED = {
    "type": "event",
    "name": "AuthorizationUsed",
    "inputs": [
        {"name": "authorizer", "type": "address", "indexed": True},
        {"name": "nonce", "type": "bytes32", "indexed": True},
    ],
}
TOPIC = "0x" + event_abi_to_log_topic(AUTHORIZATION_USED).hex().removeprefix("0x")
LOOKBACK_BLOCKS = 100_000  # how far back an unknown transaction is searched for


def chain() -> Web3:
    if not settings.X402_RPC_URL:
        raise ServiceUnavailable("Reconciling payments reads the chain: set X402_RPC_URL.")
    return Web3(Web3.HTTPProvider(settings.X402_RPC_URL, request_kwargs={"timeout": 10}))


def payments_reconcile(*, w3: Web3 | None = None, now: dt.datetime | None = None) -> Counter:
    """Settle or fail every open payment the chain has an answer for; counts by outcome.

    `now` (default: the current time) decides which reservations count as
    abandoned and which as expired.
    """
    now = now or timezone.now()
    open_payments = list(Payment.objects.filter(status__in=OPEN).order_by("created_at"))
    if not open_payments:
        return Counter()  # nothing to ask the chain
    w3 = w3 or chain()
    in_flight = dt.timedelta(seconds=settings.X402_SETTLE_TIMEOUT_SECONDS + 30)
    expired = dt.timedelta(
        seconds=settings.X402_SETTLE_TIMEOUT_SECONDS + settings.X402_MAX_TIMEOUT_SECONDS + 60
    )
    outcome: Counter = Counter()
    for payment in open_payments:
        if payment.status == PaymentStatus.RESERVED and now - payment.created_at < in_flight:
            outcome["in flight"] += 1  # its request may still be settling it
            continue
        result = _reconcile_one(w3, payment, too_old=now - payment.created_at > expired)
        outcome[result] += 1
    return outcome


def _reconcile_one(w3: Web3, payment: Payment, *, too_old: bool) -> str:
    tx_hash = payment.tx_hash or _find_transaction(w3, payment)
    receipt = _receipt(w3, tx_hash) if tx_hash else None
    if receipt is not None and receipt["status"] == 1 and _used_in(receipt, payment):
        payment_complete(payment_id=payment.id, tx_hash=tx_hash)
        logger.info("payment %s reconciled: settled in %s", payment.id, tx_hash)
        return "settled"
    if receipt is not None and receipt["status"] != 1 and not _find_transaction(w3, payment):
        payment_fail(payment_id=payment.id, reason=f"transaction {tx_hash} reverted")
        return "failed"
    if receipt is None and too_old and not _find_transaction(w3, payment):
        payment_fail(payment_id=payment.id, reason="not settled on chain before it expired")
        return "failed"
    return "still pending"


def _receipt(w3: Web3, tx_hash: str) -> Any:
    try:
        return w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None


def _used_in(receipt: Any, payment: Payment) -> bool:
    wanted = _topics(payment)
    return any(
        to_checksum_address(log["address"]) == to_checksum_address(payment.asset)
        and [_hex(topic) for topic in log["topics"]] == wanted
        for log in receipt["logs"]
    )


def _find_transaction(w3: Web3, payment: Payment) -> str | None:
    latest = w3.eth.block_number
    logs = w3.eth.get_logs(
        {
            "address": to_checksum_address(payment.asset),
            "topics": _topics(payment),
            "fromBlock": max(0, latest - LOOKBACK_BLOCKS),
            "toBlock": latest,
        }
    )
    return _hex(logs[0]["transactionHash"]) if logs else None


def _topics(payment: Payment) -> list[str]:
    return [TOPIC, "0x" + "00" * 12 + payment.payer[2:].lower(), payment.nonce.lower()]


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return ("0x" + text.removeprefix("0x")).lower()
