"""REST endpoints for API keys and the "who am I" dashboard. Thin: parse, call a
service, render. Every key is looked up within the caller's organization, so
another organization's key id is a 404 KEY_NOT_FOUND, like a malformed one."""

from __future__ import annotations

import io
import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization, User
from accounts.permissions import HasPermission
from accounts.principal import AuthMethod, Principal
from apikeys import delegation, selectors, services
from apikeys.check import KeyCheck
from apikeys.errors import KeyNotFound
from apikeys.models import APIKey
from apikeys.permissions import CanManageKeys
from apikeys.serializers import (
    APIKeyCreateSerializer,
    APIKeyEnvelopeSerializer,
    APIKeyRegenerateSerializer,
    APIKeySerializer,
    APIKeyWithSecretSerializer,
    DashboardSerializer,
    VerifyIn,
    VerifyOut,
    verify_body_fast,
)
from apikeys.verification import key_verify_remote, verify_caller_with_key
from billing.money import format_usd
from billing.services import balance_micros
from config.net import client_ip
from config.openapi import error_response
from config.parsers import JSONParser

TAG = "API keys"
# The common errors (400, 401, 403, 429, ...) are added by config.openapi.AutoSchema.
NOT_FOUND = {404: error_response("KEY_NOT_FOUND: no such key in the caller's organization.")}
KEY_ID = OpenApiParameter("key_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
KEY_LIMIT_REACHED = error_response("KEY_LIMIT_REACHED: the organization has its maximum of keys.")


def _actor(request: Request) -> dict[str, Any]:
    """Who acts, for the audit trail: the person, or the key when a key acts."""
    principal: Principal = request.auth
    if principal.method is AuthMethod.API_KEY:
        return {"actor_key_id": principal.key_id, "actor_ip": client_ip(request)}
    return {"actor_id": principal.user_id, "actor_ip": client_ip(request)}


def no_store(response: Response) -> Response:
    """A response carrying a full key: no browser or proxy may keep it (SPEC §2)."""
    response["Cache-Control"] = "no-store"
    return response


def _parse_key_id(key_id: str) -> uuid.UUID | None:
    """The one reading of a key id in a path (any spelling uuid.UUID takes), so
    finding a key and recognising a key's own id always agree."""
    try:
        return uuid.UUID(key_id)
    except ValueError:
        return None


def _get_key(request: Request, key_id: str) -> APIKey:
    pk = _parse_key_id(key_id)
    if pk is None:
        raise KeyNotFound()
    key = APIKey.objects.filter(pk=pk, organization_id=request.auth.organization_id).first()
    if key is None:
        raise KeyNotFound()
    return key


class APIKeyListCreateView(GenericAPIView):
    """The organization's keys: list them, or create one (APIKeyCreateRequest).
    The URL routes to wallet.views.APIKeyCollectionView, which adds the create
    without credentials (a SIWE proof in the body)."""

    permission_classes = [CanManageKeys]
    serializer_class = APIKeySerializer

    def get_queryset(self):
        return APIKey.objects.filter(organization_id=self.request.auth.organization_id)

    @extend_schema(
        tags=[TAG],
        summary="List the organization's API keys (no secrets)",
        description="Newest first, paginated (`page`, `pageSize`).",
        responses=APIKeySerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset().order_by("-created_at", "-id"))
        return self.get_paginated_response(APIKeySerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="Create an API key; the full key is in this response only",
        request=APIKeyCreateSerializer,
        responses={201: APIKeyWithSecretSerializer, 409: KEY_LIMIT_REACHED},
    )
    def post(self, request: Request) -> Response:
        data = APIKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        bounded = delegation.check_create(
            delegation.caller_ceiling(request.auth),
            permissions=body.get("permissions"),
            environment=body["environment"],
            rate_limit=body.get("rateLimit"),
            allowed_ips=body.get("allowedIps"),  # None when left out: inherited
            expires_at=body.get("expiresAt"),
        )
        actor = _actor(request)
        key, full_key = services.apikey_create(
            organization=request.auth.organization_id,
            created_by=request.auth.user_id,
            name=body["name"],
            permissions=bounded.permissions,
            environment=body["environment"],
            rate_limit=bounded.rate_limit,
            allowed_ips=bounded.allowed_ips,
            expires_at=bounded.expires_at,
            actor_ip=actor["actor_ip"],
            actor_key_id=actor.get("actor_key_id"),
        )
        return no_store(
            Response(
                APIKeyWithSecretSerializer({"apiKey": key, "key": full_key}).data,
                status=status.HTTP_201_CREATED,
            )
        )


class APIKeyDetailView(APIView):
    permission_classes = [CanManageKeys]

    def is_self_revocation(self) -> bool:
        """Any key may revoke itself (CanManageKeys asks)."""
        principal = self.request.auth
        return (
            self.request.method == "DELETE"
            and isinstance(principal, Principal)
            and principal.key_id is not None
            and _parse_key_id(self.kwargs.get("key_id", "")) == uuid.UUID(str(principal.key_id))
        )

    @extend_schema(
        tags=[TAG],
        summary="One API key (no secret)",
        parameters=[KEY_ID],
        responses={200: APIKeyEnvelopeSerializer, **NOT_FOUND},
    )
    def get(self, request: Request, key_id: str) -> Response:
        return Response(APIKeyEnvelopeSerializer({"apiKey": _get_key(request, key_id)}).data)

    @extend_schema(
        tags=[TAG],
        summary="Revoke an API key (immediate, irreversible; any key may revoke itself)",
        description="The key stays listed, with status `revoked`.",
        parameters=[KEY_ID],
        responses={200: APIKeyEnvelopeSerializer, **NOT_FOUND},
    )
    def delete(self, request: Request, key_id: str) -> Response:
        key = _get_key(request, key_id)
        if not self.is_self_revocation():  # any key may revoke itself
            delegation.check_manage(delegation.caller_ceiling(request.auth), key)
        key = services.apikey_revoke(key=key, **_actor(request))
        return Response(APIKeyEnvelopeSerializer({"apiKey": key}).data)


class APIKeyRegenerateView(APIView):
    permission_classes = [CanManageKeys]

    @extend_schema(
        tags=[TAG],
        summary="New secret for the same key; the old one dies now or after the grace period",
        parameters=[KEY_ID],
        request=APIKeyRegenerateSerializer,
        responses={
            200: APIKeyWithSecretSerializer,
            409: error_response("CONFLICT: the key is revoked or expired."),
            **NOT_FOUND,
        },
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = _get_key(request, key_id)
        data = APIKeyRegenerateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        delegation.check_manage(delegation.caller_ceiling(request.auth), key)
        key, full_key = services.apikey_regenerate(
            key=key,
            grace_period_seconds=data.validated_data["gracePeriodSeconds"],
            **_actor(request),
        )
        return no_store(Response(APIKeyWithSecretSerializer({"apiKey": key, "key": full_key}).data))


class DashboardView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["Account"],
        summary="Who is calling: user, organization, auth method, key, credits",
        responses=DashboardSerializer,
    )
    def get(self, request: Request) -> Response:
        principal: Principal = request.auth
        org = Organization.objects.get(pk=principal.organization_id)
        user = User.objects.filter(pk=principal.user_id).first() if principal.user_id else None
        return Response(
            DashboardSerializer(
                {
                    "user": (
                        {
                            "id": user.pk,
                            "username": user.username,
                            "walletAddress": user.wallet_address,
                        }
                        if user
                        else None
                    ),
                    "organization": {
                        "id": org.id,
                        "name": org.name,
                        "slug": org.slug,
                        "plan": org.plan,
                        "rateLimit": org.rate_limit_per_minute,
                    },
                    "authMethod": principal.method,
                    "keyId": principal.key_id,
                    "environment": principal.environment,
                    # The balance is billing: only for credentials that hold it (SPEC §1).
                    "credits": (
                        {"balance": format_usd(balance_micros(organization=org.id))}
                        if principal.has_permission("billing")
                        else None
                    ),
                    "keyCount": selectors.active_key_count(org.id),
                }
            ).data
        )


def _valid_verify_body(request: Request) -> dict[str, Any] | None:
    """The verify body, parsed and validated as the view would, or None (no JSON
    body, or one the view will refuse): read from the raw body, so that the view
    can still parse it itself when this declines."""
    django_request = request._request
    if django_request.content_type != "application/json":
        return None
    try:
        data = JSONParser().parse(io.BytesIO(django_request.body), "application/json")
    except Exception:
        return None
    fast = verify_body_fast(data)
    if fast is not None:
        return fast
    body = VerifyIn(data=data)
    return body.validated_data if body.is_valid() else None


class VerifyKeyView(APIView):
    """POST /api/v1/keys/verify: may this key make this call (and pay `cost`)?

    For gateways and services not written in Django. The caller's own key needs
    the `verify` permission; the answer is 200 with `valid` and a `code` for every
    outcome of the check, and 4xx only for a malformed request.
    """

    permission_classes = [HasPermission("verify")]

    def key_check(self, request: Request, raw: str, ip: str | None) -> KeyCheck | None:
        """The caller's key check, called by APIKeyAuthentication: for a well-formed
        body, the caller's key, the checked key and its balance in one round trip
        (apikeys.verifyread). The checked key is counted there only if the caller
        will pass (valid, holding `verify`, within its limit) and so will the key;
        a body that does not validate declines, and the view answers it as before."""
        data = _valid_verify_body(request)
        if data is None:
            return None
        read = verify_caller_with_key(raw, ip=ip, data=data)
        if read is None:
            return None
        check, checked, checked_key = read
        request._request.gatehouse_verify = (data, checked, checked_key)  # type: ignore[attr-defined]
        return check

    @extend_schema(tags=["API keys"], request=VerifyIn, responses={200: VerifyOut})
    def post(self, request: Request) -> Response:
        prefetched = getattr(request._request, "gatehouse_verify", None)
        if prefetched is not None:
            data, checked, raw_key = prefetched
        else:
            data, checked = verify_body_fast(request.data), None
            if data is None:
                body = VerifyIn(data=request.data)
                body.is_valid(raise_exception=True)
                data = body.validated_data
            raw_key = data["key"]
        result = key_verify_remote(
            raw_key=raw_key,
            permissions=data.get("permissions", ()),
            cost_micros=data.get("cost", 0),
            ip=data.get("ip"),
            request_id=data.get("requestId"),
            caller_key_id=request.auth.key_id,
            prefetched=checked,
        )
        return Response(VerifyOut.render(result))
