"""Billing API: balance, ledger and a metered demo endpoint.

Thin views: parse, call a service or selector, render. `request.auth` is the
Principal the authentication classes produced.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasPermission
from billing import selectors, services
from billing.metering import Metered
from billing.money import format_usd
from billing.paid import or_paid
from billing.serializers import (
    BalanceOut,
    EchoIn,
    EchoOut,
    LedgerEntryOut,
)
from config.openapi import error_response


class CreditsBalanceView(APIView):
    """GET /api/v1/credits: the caller's organization's balance."""

    permission_classes = [HasPermission("billing")]

    @extend_schema(tags=["Credits"], responses=BalanceOut)
    def get(self, request: Request) -> Response:
        org_id = request.auth.organization_id
        return Response(
            BalanceOut(
                {
                    "balance": format_usd(services.balance_micros(organization=org_id)),
                    "currency": "USD",
                    "organizationId": org_id,
                }
            ).data
        )


@extend_schema_view(get=extend_schema(tags=["Credits"]))
class CreditsTransactionsView(ListAPIView):
    """GET /api/v1/credits/transactions: the ledger, newest first, paginated
    (`page`, `pageSize`)."""

    permission_classes = [HasPermission("billing")]
    serializer_class = LedgerEntryOut

    def get_queryset(self):
        return selectors.ledger_recent(organization_id=self.request.auth.organization_id)


class EchoView(APIView):
    """POST /api/v1/echo: returns the message; costs ECHO_PRICE_USD per call.

    The product's smallest metered endpoint: it stands in for a chat-style
    endpoint (so it needs `chat`, i.e. `chat:write` for a POST) and shows metering end to end.
    """

    # Or no credentials and an x402 payment header: pay-per-request.
    permission_classes = [or_paid(HasPermission("chat"))]

    @extend_schema(
        tags=["Metering"],
        request=EchoIn,
        responses={
            200: EchoOut,
            402: error_response(
                "INSUFFICIENT_CREDITS: the balance does not cover the price; `details` has both."
            ),
        },
    )
    @Metered(lambda: settings.ECHO_PRICE_USD, serializer=EchoIn)
    def post(self, request: Request, validated: dict) -> Response:
        charge = request.charge
        return Response(
            EchoOut(
                {
                    "message": validated["message"],
                    "charged": charge.amount if charge else format_usd(0),
                    "requestId": request.request_id,
                }
            ).data
        )
