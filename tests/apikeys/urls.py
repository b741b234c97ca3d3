"""Test-only endpoints: who is calling, and permission-guarded views."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasPermission


class WhoAmI(APIView):
    def get(self, request):
        p = request.auth
        return Response(
            {
                "method": p.method,
                "org": str(p.organization_id),
                "user": str(p.user_id) if p.user_id else None,
                "key": str(p.key_id) if p.key_id else None,
                "env": p.environment,
                "rateLimit": p.rate_limit,
                "userClass": type(request.user).__name__,
            }
        )

    def post(self, request):
        return self.get(request)


class Chat(APIView):
    permission_classes = [HasPermission("chat")]

    def get(self, request):
        return Response({"ok": "read"})

    def post(self, request):
        return Response({"ok": "write"})


class ChatWrite(APIView):
    permission_classes = [HasPermission("chat:write")]

    def get(self, request):
        return Response({"ok": True})


class Billing(APIView):
    permission_classes = [HasPermission("billing")]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("api/whoami", WhoAmI.as_view()),
    path("api/chat", Chat.as_view()),
    path("api/chat-write", ChatWrite.as_view()),
    path("api/billing", Billing.as_view()),
]
