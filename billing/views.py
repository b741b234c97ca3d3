"""Billing API: balance, ledger, a metered demo endpoint and remote key verification.

Thin views: parse, call a service or selector, render. `request.auth` is the
Principal the authentication classes produced.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import HasPermission
from billing import selectors, services
from billing.metering import Metered
from billing.money import format_usd
from billing.serializers import BalanceOut, EchoIn, EchoOut, LedgerEntryOut


class CreditsBalanceView(APIView):
    """GET /api/v1/credits: the caller's organization's balance."""

    permission_classes = [HasPermission("billing")]

    @extend_schema(responses=BalanceOut)
    def get(self, request: Request) -> Response:
        org_id = request.auth.organization_id
        return Response(
            {
                "balance": format_usd(services.balance_micros(organization=org_id)),
                "currency": "USD",
                "organizationId": str(org_id),
            }
        )


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
    endpoint (hence `chat:write`) and shows metering end to end.
    """

    permission_classes = [HasPermission("chat:write")]

    @extend_schema(
        request=EchoIn,
        responses={
            200: EchoOut,
            402: OpenApiResponse(description="INSUFFICIENT_CREDITS; details: balance, price"),
        },
    )
    @Metered(lambda: settings.ECHO_PRICE_USD, serializer=EchoIn)
    def post(self, request: Request, validated: dict) -> Response:
        charge = request.charge
        return Response(
            {
                "message": validated["message"],
                "charged": charge.amount if charge else format_usd(0),
                "requestId": request.request_id,
            }
        )
