"""POST /api/v1/topup/<amount>: buy credits with an x402 payment."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.principal import Principal
from accounts.wallet_address import checksum_address
from billing.models import PaymentStatus
from billing.money import MICROS_PER_USD, format_usd
from billing.paid import refusal
from billing.payments import topup_pay
from billing.throttling import AnonymousRateThrottle, PrincipalRateThrottle
from billing.x402 import PaymentRefused, payment_response_header, read_payment, terms
from config.errors import NotFound, ValidationFailed
from config.openapi import error_response


class TopUpIn(serializers.Serializer):
    walletAddress = serializers.CharField(
        required=False, help_text="Credit this wallet's organization (created if new)."
    )


class TopUpOut(serializers.Serializer):
    paymentId = serializers.UUIDField()
    status = serializers.CharField()
    amount = serializers.CharField()
    balance = serializers.CharField(allow_null=True)
    organizationId = serializers.UUIDField(allow_null=True)
    payer = serializers.CharField()
    network = serializers.CharField()
    transaction = serializers.CharField(allow_null=True)


class TopUpView(APIView):
    """Without a payment: 402 with the requirements (v2 header, v1 body). With a
    `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1) header: verified, settled on
    chain, then credited once. Credited: the signed-in caller's organization
    (wallet signature, key or session), else `walletAddress`'s, else the payer's.
    """

    permission_classes = [AllowAny]
    # Anonymous callers are limited per address (ANONYMOUS_RATE): each payment
    # tried costs the facilitator a verification on chain.
    throttle_classes = [PrincipalRateThrottle, AnonymousRateThrottle]
    throttle_scope = "topup"

    @extend_schema(
        tags=["Credits"],
        request=TopUpIn,
        parameters=[
            OpenApiParameter("amount", int, OpenApiParameter.PATH, enum=[10, 50, 100]),
            OpenApiParameter("PAYMENT-SIGNATURE", str, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("X-PAYMENT", str, OpenApiParameter.HEADER, required=False),
        ],
        responses={
            200: TopUpOut,
            202: TopUpOut,
            402: error_response(
                "PAYMENT_REQUIRED: no payment, or refused (`details.reason`). Beside the "
                "envelope, x402 v1's `x402Version` and `accepts`; x402 v2's requirements "
                "in the PAYMENT-REQUIRED header (base64 JSON)."
            ),
            409: error_response("CONFLICT: this payment is being settled by another request."),
            503: error_response("SERVICE_UNAVAILABLE: payments are not configured."),
        },
    )
    def post(self, request: Request, amount: int) -> Response:
        if amount not in settings.TOPUP_AMOUNTS_USD:
            raise NotFound(f"Top-ups are {', '.join(map(str, settings.TOPUP_AMOUNTS_USD))} USD.")
        if not isinstance(request.data, dict):
            raise ValidationFailed("The body must be a JSON object.")
        body = TopUpIn(data=request.data)
        body.is_valid(raise_exception=True)
        wallet = body.validated_data.get("walletAddress")
        beneficiary = checksum_address(wallet, field="walletAddress") if wallet else ""
        current = terms()
        micros = amount * MICROS_PER_USD
        atomic = current.atomic(micros)
        resource = request.build_absolute_uri()
        description = f"{amount} USD of Gatehouse credits"
        principal = request.auth if isinstance(request.auth, Principal) else None
        try:
            incoming = read_payment(request, current, atomic)
            if incoming is None:
                raise PaymentRefused("payment_required", "Pay with x402 to top up.")
            outcome = topup_pay(
                incoming=incoming,
                credit_micros=micros,
                organization_id=principal.organization_id if principal else None,
                beneficiary=beneficiary,
                resource=request.path,
            )
        except PaymentRefused as exc:
            return refusal(exc, current, atomic, resource=resource, description=description)
        payment = outcome.payment
        settled = payment.status == PaymentStatus.SETTLED
        return Response(
            {
                "paymentId": str(payment.id),
                "status": payment.status,
                "amount": format_usd(micros),
                "balance": format_usd(outcome.balance_micros)
                if outcome.balance_micros is not None
                else None,
                "organizationId": str(payment.organization_id) if payment.organization_id else None,
                "payer": payment.payer,
                "network": payment.network,
                "transaction": payment.tx_hash,
            },
            status=200 if settled else 202,
            headers=payment_response_header(incoming.version, outcome.settle),
        )
