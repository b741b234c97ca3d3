"""Test-only endpoints: anonymous throttled views and metered views that fail."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasPermission
from billing.metering import Metered
from billing.throttling import AnonymousRateThrottle
from config.errors import ServiceUnavailable
from config.urls import urlpatterns as project_urls


class SiweNonceThrottle(AnonymousRateThrottle):
    scope = "siwe-nonce"


class SiweVerifyThrottle(AnonymousRateThrottle):
    scope = "siwe-verify"


class AnonNonce(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [SiweNonceThrottle]

    def get(self, request):
        return Response({"ok": True})


class AnonVerify(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [SiweVerifyThrottle]

    def post(self, request):
        return Response({"ok": True})


class AnonViewScoped(APIView):
    """The group named on the view (DRF's `throttle_scope` habit)."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonymousRateThrottle]
    throttle_scope = "key-create-headless"

    def post(self, request):
        return Response({"ok": True})


class MeteredFailures(APIView):
    permission_classes = [HasPermission("chat")]

    @Metered("0.01")
    def post(self, request, how):
        if how == "crash":
            raise RuntimeError("boom")
        if how == "unavailable":
            raise ServiceUnavailable()
        if how == "bad-gateway":
            return Response({"upstream": "down"}, status=502)
        if how == "not-found":
            raise NotFound("No such thing.")
        return Response({"charged": request.charge.amount if request.charge else None})


@api_view(["POST"])
@permission_classes([HasPermission("chat")])
@Metered("0.25")
def metered_function(request):
    return Response({"charged": request.charge.amount if request.charge else None})


urlpatterns = [
    path("api/test/anon-nonce", AnonNonce.as_view()),
    path("api/test/anon-verify", AnonVerify.as_view()),
    path("api/test/anon-view-scoped", AnonViewScoped.as_view()),
    path("api/test/metered/<str:how>", MeteredFailures.as_view()),
    path("api/test/metered-function", metered_function),
    *project_urls,
]
