"""SIWE endpoints: thin — parse, call the wallet services, render."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.contrib.auth import login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ACTIVE_ORG_SESSION_KEY
from apikeys.serializers import (
    APIKeyCreateSerializer,
    APIKeyWithSecretSerializer,
)
from apikeys.views import KEY_LIMIT_REACHED, TAG, APIKeyListCreateView
from billing.throttling import AnonymousRateThrottle, HeadlessKeyCreateThrottle
from config.authlog import auth_failed
from config.net import client_ip
from config.openapi import error_response
from wallet.nonces import nonce_issue
from wallet.serializers import (
    HeadlessKeyCreateSerializer,
    SiweLoginOut,
    SiweSignInOut,
    SiweVerifySerializer,
    siwe_body_fast,
)
from wallet.signin import headless_key_create, siwe_account_verify, siwe_sign_in
from wallet.siwe_verify import SiweFailed


class AnonymousWalletView(APIView):
    """No credentials are read (a wallet proves itself in the body), so no CSRF
    either; only the per-IP throttle applies."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    # ANONYMOUS_RATE per client address, one bucket per view's `throttle_scope`.
    throttle_classes = (AnonymousRateThrottle,)


# The page that signs in reads the csrftoken cookie for its X-CSRFToken header;
# the nonce it fetches first is where it gets the cookie.
@method_decorator(ensure_csrf_cookie, name="dispatch")
class SiweNonceView(AnonymousWalletView):
    throttle_scope = "siwe-nonce"

    @extend_schema(
        operation_id="siwe_nonce",
        responses=inline_serializer(
            "SiweNonce",
            {
                "nonce": serializers.CharField(),
                "domain": serializers.CharField(),
                "uri": serializers.CharField(),
                "chainId": serializers.IntegerField(),
                "version": serializers.CharField(),
                "statement": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        """A single-use nonce (5 minutes) and the values a SIWE message must carry."""
        response = Response(
            {
                "nonce": nonce_issue(),
                "domain": settings.APP_DOMAIN,
                "uri": settings.APP_ORIGIN,
                "chainId": settings.SIWE_ALLOWED_CHAIN_IDS[0],
                "version": "1",
                "statement": settings.SIWE_STATEMENT,
            }
        )
        response["Cache-Control"] = "no-store"
        return response


class SiweVerifyView(AnonymousWalletView):
    throttle_scope = "siwe-verify"

    @extend_schema(
        operation_id="siwe_verify",
        request=SiweVerifySerializer,
        responses={
            200: inline_serializer(
                "SiweSignIn",
                {
                    "apiKey": serializers.CharField(),
                    "user": serializers.DictField(),
                    "organization": serializers.DictField(),
                    "isNewAccount": serializers.BooleanField(),
                },
            ),
            401: error_response(
                "UNAUTHORIZED: the signature does not verify, or the nonce, domain, "
                "chain or times are wrong."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Verify a signed SIWE message; find or create the account; return a new key."""
        data = siwe_body_fast(request.data)
        if data is None:  # not plainly well formed: the serializer says what is wrong
            body = SiweVerifySerializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        try:
            result = siwe_sign_in(
                message=data["message"], signature=data["signature"], actor_ip=client_ip(request)
            )
        except SiweFailed as exc:
            auth_failed(request, exc.reason)
            raise
        response = Response(SiweSignInOut.render(result))
        response["Cache-Control"] = "no-store"
        return response


class CsrfProtected(BasePermission):
    """Django's CSRF check for a view that reads no session credentials yet changes
    the session (login, logout): without it, another site could log a visitor into
    the attacker's account (login CSRF). Fails as 403 FORBIDDEN, like the session
    authentication's own check."""

    def has_permission(self, request, view) -> bool:
        SessionAuthentication().enforce_csrf(request)
        return True


SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SiweLoginView(AnonymousWalletView):
    permission_classes = (CsrfProtected,)
    # The same sign-in as /siwe/verify, so the same per-address bucket: splitting
    # attempts across the two routes buys no extra tries.
    throttle_scope = "siwe-verify"

    @extend_schema(
        operation_id="siwe_login",
        request=SiweVerifySerializer,
        responses={
            200: inline_serializer(
                "SiweLogin",
                {
                    "user": serializers.DictField(),
                    "organization": serializers.DictField(),
                    "isNewAccount": serializers.BooleanField(),
                },
            ),
            401: error_response(
                "UNAUTHORIZED: the signature does not verify, or the nonce, domain, "
                "chain or times are wrong, or the wallet's user is deactivated."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """The browser sign-in: verify like /siwe/verify, then log into a dashboard
        session (no key is issued). Needs the CSRF token in X-CSRFToken."""
        body = SiweVerifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = siwe_account_verify(
                message=body.validated_data["message"],
                signature=body.validated_data["signature"],
                actor_ip=client_ip(request),
            )
        except SiweFailed as exc:
            auth_failed(request, exc.reason)
            raise
        # login() cycles the session key (or flushes another user's session) and
        # rotates the CSRF token; the organization goes in after, or a flush would
        # drop it.
        login(request._request, result.user, backend=SESSION_BACKEND)
        request.session[ACTIVE_ORG_SESSION_KEY] = str(result.organization.pk)
        response = Response(SiweLoginOut(result).data)
        response["Cache-Control"] = "no-store"
        return response


class LogoutView(APIView):
    """End the dashboard session (idempotent: without one it is still 204)."""

    authentication_classes = ()
    permission_classes = (CsrfProtected,)
    throttle_classes = ()

    @extend_schema(operation_id="logout", request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


HEADLESS_FIELDS = frozenset({"address", "message", "signature"})
CREATE_BODY = PolymorphicProxySerializer(
    component_name="APIKeyCreateBody",
    serializers=[APIKeyCreateSerializer, HeadlessKeyCreateSerializer],
    resource_type_field_name=None,
)


class APIKeyCollectionView(APIKeyListCreateView):
    """GET/POST /api/v1/api-keys: the key list/create view of apikeys, plus the
    create without credentials. A POST that carries no credentials but a SIWE
    proof in its body ({address, message, signature, name, expiresAt?}) creates a
    key for the signing wallet's organization (Ethos style, SPEC §2). Such a
    request is anonymous, so it gets the anonymous throttle and no permission
    check. config/urls.py routes the URL here: wallet stands on apikeys."""

    # For config.openapi.AutoSchema: a POST may come without credentials.
    anonymous_methods = frozenset({"POST"})

    def is_headless_create(self) -> bool:
        request = self.request
        if request.method != "POST" or request.auth is not None:
            return False
        data = request.data
        return isinstance(data, Mapping) and data.keys() >= HEADLESS_FIELDS

    def get_permissions(self):
        if self.is_headless_create():
            return [AllowAny()]
        return super().get_permissions()

    def get_throttles(self):
        if self.is_headless_create():
            return [HeadlessKeyCreateThrottle()]
        return super().get_throttles()

    @extend_schema(
        tags=[TAG],
        summary="Create an API key; the full key is in this response only",
        description="With credentials: an APIKeyCreateRequest body. Without credentials "
        "(headless, for wallets and agents): a HeadlessKeyCreateRequest body carrying a "
        "signed SIWE message; the key is a live key with every permission, for the "
        "signing wallet's organization, and the anonymous per-address limit applies.",
        request=CREATE_BODY,
        responses={
            201: APIKeyWithSecretSerializer,
            409: KEY_LIMIT_REACHED,
        },
    )
    def post(self, request: Request) -> Response:
        if request.auth is not None:
            return super().post(request)
        # No credentials: a SIWE proof in the body.
        body = HeadlessKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            key, full_key = headless_key_create(
                address=data["address"],
                message=data["message"],
                signature=data["signature"],
                name=data["name"],
                expires_at=data.get("expiresAt"),
                actor_ip=client_ip(request),
            )
        except SiweFailed as exc:
            auth_failed(request, exc.reason)
            raise
        response = Response(
            APIKeyWithSecretSerializer({"apiKey": key, "key": full_key}).data,
            status=status.HTTP_201_CREATED,
        )
        response["Cache-Control"] = "no-store"
        return response
