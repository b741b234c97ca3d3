"""One trivial DRF endpoint, guarded several ways, so only the guard differs."""

from django.core.cache import cache
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.permissions import HasAPIKey


class Hello(APIView):
    """Uses the project's default authentication, permission and throttle classes."""

    def get(self, request):
        return Response({"hello": "world"})


class NoAuth(Hello):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []


class OneRedisRoundTrip(NoAuth):
    """No authentication, one shared-cache read: the floor of any check whose
    state is shared by every server process (a revocable key, a rate counter)."""

    def get(self, request):
        cache.get("bench:probe")
        return Response({"hello": "world"})


class DrfApiKey(Hello):
    authentication_classes = []
    permission_classes = [HasAPIKey]
    throttle_classes = []


urlpatterns = [
    path("bench/noauth", NoAuth.as_view()),
    path("bench/ours", Hello.as_view()),
    path("bench/one-redis-get", OneRedisRoundTrip.as_view()),
    path("bench/drf-api-key", DrfApiKey.as_view()),
    path("", include("config.urls")),
]
