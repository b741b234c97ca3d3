"""The x402 SDK wired to our configuration: terms, requirements, headers.

What a payment must be (asset, network, recipient, amount) comes from settings
(X402_*); the SDK's `x402ResourceServerSync` matches and verifies payloads and
a facilitator settles them: a remote one (X402_FACILITATOR_URL) or the SDK's
own, in-process, paying gas with X402_FACILITATOR_PRIVATE_KEY on X402_RPC_URL
with simulation before settling (a used authorization is never broadcast).

Both protocol versions are spoken. v2 is the SDK's; v1 (`X-PAYMENT`, the
requirements in the 402 body) carries the same EIP-3009 authorization under a
network *name*, so a v1 payload is checked against our v1 terms and then
handled as the v2 payload it is equivalent to. The SDK's server side is v2 only
and its v1 facilitator knows only public networks by name, which is why the
translation happens here.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from eth_utils import is_hex, to_checksum_address
from pydantic import ValidationError
from x402 import x402FacilitatorSync, x402ResourceServerSync
from x402.http import FacilitatorConfig, HTTPFacilitatorClientSync
from x402.mechanisms.evm import FacilitatorWeb3Signer
from x402.mechanisms.evm.exact import (
    ExactEvmFacilitatorScheme,
    ExactEvmSchemeConfig,
    ExactEvmServerScheme,
)
from x402.mechanisms.evm.v1.constants import V1_NETWORK_CHAIN_IDS
from x402.schemas import (
    PaymentPayload,
    PaymentPayloadV1,
    PaymentRequired,
    PaymentRequirements,
    PaymentRequirementsV1,
    SettleResponse,
)

from config.errors import PaymentRequired as PaymentRequiredError
from config.errors import ServiceUnavailable

SCHEME = "exact"
V2_HEADER = "PAYMENT-SIGNATURE"
V1_HEADER = "X-PAYMENT"
MAX_HEADER_CHARS = 16_384  # a payload is ~1 KB; anything far larger is not one


class PaymentRefused(PaymentRequiredError):
    """402 PAYMENT_REQUIRED with the protocol's reason (details.reason)."""

    def __init__(self, reason: str, message: str, *, status: int = 402) -> None:
        super().__init__(message, details={"reason": reason})
        self.reason = reason
        self.status_code = status
        if status == 409:
            self.code = "CONFLICT"


@dataclass(frozen=True)
class Terms:
    """What every payment must be, from settings."""

    network: str
    v1_network: str
    asset: str
    asset_name: str
    asset_version: str
    decimals: int
    pay_to: str
    max_timeout_seconds: int

    def atomic(self, micros: int) -> int:
        """Micro-USD in the asset's smallest unit (a USD stablecoin has >= 6 decimals)."""
        return micros * 10 ** (self.decimals - 6)

    def requirements(self, amount_atomic: int) -> PaymentRequirements:
        return PaymentRequirements(
            scheme=SCHEME,
            network=self.network,
            asset=self.asset,
            amount=str(amount_atomic),
            pay_to=self.pay_to,
            max_timeout_seconds=self.max_timeout_seconds,
            extra={"name": self.asset_name, "version": self.asset_version},
        )

    def requirements_v1(
        self, amount_atomic: int, *, resource: str, description: str
    ) -> PaymentRequirementsV1:
        return PaymentRequirementsV1(
            scheme=SCHEME,
            network=self.v1_network,
            max_amount_required=str(amount_atomic),
            resource=resource,
            description=description,
            mime_type="application/json",
            pay_to=self.pay_to,
            max_timeout_seconds=self.max_timeout_seconds,
            asset=self.asset,
            extra={"name": self.asset_name, "version": self.asset_version},
        )


def payments_enabled() -> bool:
    """Whether this server takes x402 payments: a recipient (else terms() answers
    503) and a facilitator, remote or in-process (else facilitator() does).
    Pages ask this before offering to pay."""
    return bool(settings.X402_PAY_TO) and _has_facilitator(
        settings.X402_FACILITATOR_URL,
        settings.X402_FACILITATOR_PRIVATE_KEY,
        settings.X402_RPC_URL,
    )


def _has_facilitator(url: str, key: str, rpc_url: str) -> bool:
    """A remote facilitator's URL, or what the in-process one needs."""
    return bool(url or (key and rpc_url))


def terms() -> Terms:
    """The configured terms, or 503 when payments are off (no recipient)."""
    if not settings.X402_PAY_TO:
        raise ServiceUnavailable(
            "Payments are not configured on this server (no recipient).",
            details={"reason": "no_recipient"},
        )
    return _terms(
        settings.X402_NETWORK,
        settings.X402_V1_NETWORK,
        settings.X402_ASSET,
        settings.X402_ASSET_NAME,
        settings.X402_ASSET_VERSION,
        settings.X402_ASSET_DECIMALS,
        settings.X402_PAY_TO,
        settings.X402_MAX_TIMEOUT_SECONDS,
    )


@functools.lru_cache(maxsize=8)
def _terms(network, v1_network, asset, name, version, decimals, pay_to, timeout) -> Terms:
    chain_id = int(network.split(":", 1)[1])
    if not v1_network:
        names = [name for name, cid in V1_NETWORK_CHAIN_IDS.items() if cid == chain_id]
        v1_network = names[0] if names else network
    return Terms(
        network=network,
        v1_network=v1_network,
        asset=to_checksum_address(asset),
        asset_name=name,
        asset_version=version,
        decimals=decimals,
        pay_to=to_checksum_address(pay_to),
        max_timeout_seconds=timeout,
    )


# --- the SDK's server and facilitator, built on first use per configuration ----


def facilitator() -> Any:
    """The facilitator client: remote by URL, else the SDK's own in-process."""
    return _facilitator(
        settings.X402_FACILITATOR_URL,
        settings.X402_NETWORK,
        settings.X402_FACILITATOR_PRIVATE_KEY,
        settings.X402_RPC_URL,
        settings.X402_SETTLE_TIMEOUT_SECONDS,
    )


@functools.lru_cache(maxsize=4)
def _facilitator(url: str, network: str, key: str, rpc_url: str, timeout: int) -> Any:
    if not _has_facilitator(url, key, rpc_url):
        raise ServiceUnavailable(
            "Payments need X402_FACILITATOR_URL, or X402_FACILITATOR_PRIVATE_KEY and "
            "X402_RPC_URL for the in-process facilitator.",
            details={"reason": "no_facilitator"},
        )
    if url:
        return HTTPFacilitatorClientSync(FacilitatorConfig(url=url))
    signer = FacilitatorWeb3Signer(key, rpc_url, confirmation_timeout_seconds=timeout)
    local = x402FacilitatorSync()
    scheme = ExactEvmFacilitatorScheme(signer, ExactEvmSchemeConfig(simulate_in_settle=True))
    local.register([network], scheme)
    return local


def resource_server() -> x402ResourceServerSync:
    return _resource_server(facilitator(), settings.X402_NETWORK)


@functools.lru_cache(maxsize=4)
def _resource_server(client: Any, network: str) -> x402ResourceServerSync:
    server = x402ResourceServerSync(client)
    server.register(network, ExactEvmServerScheme())
    server.initialize()  # asks the facilitator what it supports: once, not at import
    return server


# --- the wire: what a 402 says, what a client sent ----------------------------


def payment_required_parts(
    terms: Terms, amount_atomic: int, *, resource: str, description: str, error: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """(headers, body fields) of a 402: v2's PAYMENT-REQUIRED header, v1's `accepts`."""
    headers, body = _payment_required_parts(terms, amount_atomic, resource, description, error)
    return dict(headers), dict(body)


@functools.lru_cache(maxsize=256)
def _payment_required_parts(
    terms: Terms, amount_atomic: int, resource: str, description: str, error: str
) -> tuple[dict[str, str], dict[str, Any]]:
    # The same few answers over and over (amounts x hosts x reasons): built once.
    required = PaymentRequired(
        x402_version=2,
        error=error,
        resource={"url": resource, "description": description, "mimeType": "application/json"},
        accepts=[terms.requirements(amount_atomic)],
    )
    header = _b64(required.model_dump_json(by_alias=True, exclude_none=True))
    v1 = terms.requirements_v1(amount_atomic, resource=resource, description=description)
    body = {"x402Version": 1, "accepts": [v1.model_dump(by_alias=True, exclude_none=True)]}
    return {"PAYMENT-REQUIRED": header}, body


def payment_response_header(version: int, settled: SettleResponse) -> dict[str, str]:
    name = "PAYMENT-RESPONSE" if version == 2 else "X-PAYMENT-RESPONSE"
    return {name: _b64(json.dumps(settled.model_dump(by_alias=True, exclude_none=True)))}


def carries_payment(request: Any) -> bool:
    return bool(request.headers.get(V2_HEADER) or request.headers.get(V1_HEADER))


@dataclass(frozen=True)
class Incoming:
    """A payment header, decoded, matched to our requirements and read."""

    version: int
    payload: PaymentPayload  # v1 payloads are carried in their v2 form
    requirements: PaymentRequirements
    payer: str
    nonce: str


def read_payment(request: Any, terms: Terms, amount_atomic: int) -> Incoming | None:
    """The request's payment, or None without one; PaymentRefused when it is not
    a payment of exactly what `terms` and `amount_atomic` ask for."""
    v2, v1 = request.headers.get(V2_HEADER), request.headers.get(V1_HEADER)
    if v2 and v1:
        raise PaymentRefused(
            "multiple_payment_headers", f"Send {V2_HEADER} or {V1_HEADER}, not both."
        )
    if not (v2 or v1):
        return None
    version, raw = (2, v2) if v2 else (1, v1)
    data = _decode(raw, header=V2_HEADER if v2 else V1_HEADER)
    if data.get("x402Version") != version:
        raise PaymentRefused(
            "version_mismatch",
            f"{V2_HEADER} carries x402 version 2 payloads and {V1_HEADER} version 1; "
            f"this one says {data.get('x402Version')!r}.",
        )
    required = terms.requirements(amount_atomic)
    try:
        if version == 2:
            payload = PaymentPayload.model_validate(data)
        else:
            payload = _from_v1(PaymentPayloadV1.model_validate(data), terms, required)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise PaymentRefused(
            "invalid_payload", f"Not an x402 payment payload (check: {', '.join(fields)})."
        ) from None
    if version == 2 and resource_server().find_matching_requirements([required], payload) is None:
        _raise_mismatch(payload.accepted, required)
    payer, nonce = _authorization(payload.payload)
    return Incoming(version, payload, required, payer, nonce)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _decode(raw: str, *, header: str) -> dict[str, Any]:
    if len(raw) > MAX_HEADER_CHARS:
        raise PaymentRefused("malformed_payment_header", f"{header} is too long.")
    try:
        data = json.loads(base64.b64decode(raw.strip(), validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise PaymentRefused(
            "malformed_payment_header", f"{header} must be base64 of a JSON payment payload."
        ) from None
    if not isinstance(data, dict):
        raise PaymentRefused("invalid_payload", f"{header} must hold a JSON object.")
    return data


def _from_v1(v1: PaymentPayloadV1, terms: Terms, required: PaymentRequirements) -> PaymentPayload:
    if v1.scheme != SCHEME:
        raise PaymentRefused("scheme_mismatch", f"Only the {SCHEME!r} scheme is accepted.")
    if v1.network != terms.v1_network:
        raise PaymentRefused(
            "network_mismatch", f"Payments are on {terms.v1_network!r}, not {v1.network!r}."
        )
    return PaymentPayload(x402_version=2, payload=v1.payload, accepted=required)


def _raise_mismatch(accepted: PaymentRequirements, required: PaymentRequirements) -> None:
    checks = [
        ("scheme_mismatch", "scheme", accepted.scheme, required.scheme),
        ("network_mismatch", "network", accepted.network, required.network),
        ("asset_mismatch", "asset", accepted.asset.lower(), required.asset.lower()),
        ("recipient_mismatch", "payTo", accepted.pay_to.lower(), required.pay_to.lower()),
        ("amount_mismatch", "amount", accepted.amount, required.amount),
    ]
    for reason, name, got, want in checks:
        if got != want:
            raise PaymentRefused(reason, f"The payment's {name} is {got!r}; {want!r} is required.")
    raise PaymentRefused("requirements_mismatch", "The payment does not match the requirements.")


MAX_UINT256_DIGITS = 78  # 2**256 - 1 has 78 decimal digits


def _authorization(payload: dict[str, Any]) -> tuple[str, str]:
    """(payer, nonce) of an EIP-3009 authorization: the payment's identity on chain."""
    auth = payload.get("authorization")
    if not isinstance(auth, dict) or not isinstance(payload.get("signature"), str):
        raise PaymentRefused(
            "invalid_payload",
            "Only EIP-3009 authorizations (authorization + signature) are accepted.",
        )
    payer, nonce = auth.get("from"), auth.get("nonce")
    if not (isinstance(payer, str) and len(payer) == 42 and payer[:2] == "0x" and is_hex(payer)):
        raise PaymentRefused("invalid_payload", "authorization.from must be an address.")
    if not (isinstance(nonce, str) and len(nonce) == 66 and nonce[:2] == "0x" and is_hex(nonce)):
        raise PaymentRefused("invalid_payload", "authorization.nonce must be 32 bytes of 0x-hex.")
    # The SDK turns a malformed number or signature into an exception that reads as
    # "could not verify" (or escapes as one): refused here as the bad input it is.
    for name in ("value", "validAfter", "validBefore"):
        number = auth.get(name)
        if not (
            isinstance(number, str)
            and number.isascii()
            and number.isdigit()
            and len(number) <= MAX_UINT256_DIGITS
            and int(number) < 2**256
        ):
            raise PaymentRefused(
                "invalid_payload", f"authorization.{name} must be a whole number in a string."
            )
    signature = payload["signature"]
    if not (
        signature[:2] == "0x"
        and len(signature) % 2 == 0
        and len(signature) >= 2 + 2 * 65
        and is_hex(signature)
    ):
        raise PaymentRefused("invalid_payload", "signature must be 0x-hex of at least 65 bytes.")
    return to_checksum_address(payer), nonce.lower()
