"""The buyer's side of x402, with the SDK's own client (`x402ClientSync`).

For the command-line wallet's `topup`, scripts and tests: given a 402 answer,
sign the EIP-3009 authorization it asks for and return the header to retry
with.

    answer = requests.post(url)                      # 402
    name, value = payment_header(answer.headers, answer.json(), account, max_usd="100")
    requests.post(url, headers={name: value})        # 200

The SDK refuses by default any asset it does not know and anything above $1;
here the caller states its own ceiling instead (`max_usd`, in the asset's
units at 6 decimals or more), checked before signing.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from x402 import x402ClientSync
from x402.mechanisms.evm import EthAccountSigner
from x402.mechanisms.evm.exact import ExactEvmClientScheme
from x402.schemas import PaymentPayloadV1, PaymentRequired, PaymentRequirements


class BuyerRefusal(ValueError):
    """The buyer will not sign what the 402 asks for."""


def payment_required(headers: Any) -> PaymentRequired:
    """The v2 PAYMENT-REQUIRED header of a 402, decoded."""
    raw = headers.get("PAYMENT-REQUIRED")
    if not raw:
        raise BuyerRefusal("the answer has no PAYMENT-REQUIRED header")
    return PaymentRequired.model_validate_json(base64.b64decode(raw))


def client_for(account: LocalAccount, network: str) -> x402ClientSync:
    client = x402ClientSync()
    client.register(network, ExactEvmClientScheme(EthAccountSigner(account)))
    # Our own ceiling is checked in payment_header; the SDK's default list of
    # known assets does not include a local chain's token.
    client.set_spend_controls(False)
    return client


def payment_header(
    headers: Any,
    body: dict[str, Any] | None,
    account: LocalAccount,
    *,
    max_usd: str | Decimal,
    version: int = 2,
) -> tuple[str, str]:
    """(header name, value) paying what a 402 asks, as x402 v2 or v1."""
    required = payment_required(headers)
    accepted = required.accepts[0]
    _check_ceiling(accepted, Decimal(max_usd))
    payload = client_for(account, accepted.network).create_payment_payload(required)
    if version == 2:
        return "PAYMENT-SIGNATURE", _b64(payload.model_dump_json(by_alias=True, exclude_none=True))
    # v1 carries the same signed authorization under the v1 network name of the
    # 402's body.
    v1_accepts = (body or {}).get("accepts") or []
    if not v1_accepts:
        raise BuyerRefusal("the 402 body has no v1 `accepts`")
    v1 = PaymentPayloadV1(
        x402_version=1,
        scheme=v1_accepts[0]["scheme"],
        network=v1_accepts[0]["network"],
        payload=payload.payload,
    )
    return "X-PAYMENT", _b64(v1.model_dump_json(by_alias=True, exclude_none=True))


def settlement(headers: Any) -> dict[str, Any]:
    """The PAYMENT-RESPONSE (or X-PAYMENT-RESPONSE) of a paid answer, decoded."""
    raw = headers.get("PAYMENT-RESPONSE") or headers.get("X-PAYMENT-RESPONSE")
    if not raw:
        raise BuyerRefusal("the answer has no payment response header")
    return json.loads(base64.b64decode(raw))


def _check_ceiling(accepted: PaymentRequirements, max_usd: Decimal) -> None:
    decimals = 6  # USDC and its kin; a larger decimals only makes the check stricter
    if Decimal(accepted.amount) > max_usd * 10**decimals:
        raise BuyerRefusal(f"asked for {accepted.amount} atomic units, more than {max_usd} USD")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
