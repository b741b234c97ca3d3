"""A test-only URLconf: DRF views that fail in each way the envelope must cover."""

from django.db.utils import ConnectionHandler
from django.http import Http404, JsonResponse
from django.urls import include, path
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response

from config.errors import Conflict


class ThingSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    count = serializers.IntegerField(min_value=0)


@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
def things(request):
    serializer = ThingSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return Response(serializer.validated_data, status=201)


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def boom(request):
    raise RuntimeError("secret internals")


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def conflict(request):
    raise Conflict("Already there.", details={"slug": "acme"})


@api_view(["GET"])
def private(request):
    return Response({"ok": True})


def plain_boom(request):
    raise RuntimeError("outside DRF")


def plain_not_found(request):
    raise Http404("outside DRF")


def plain_body(request):
    return JsonResponse({"size": len(request.body)})


def plain_query(request):
    return JsonResponse({"fields": len(request.GET)})


def _query_a_database_that_is_down():
    """A real connection attempt to a PostgreSQL port nobody listens on."""
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "HOST": "127.0.0.1",
                "PORT": "1",
                "NAME": "nowhere",
                "USER": "nobody",
                "OPTIONS": {"connect_timeout": 2},
            }
        }
    )
    with handler["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def database_down(request):
    _query_a_database_that_is_down()


def plain_database_down(request):
    _query_a_database_that_is_down()


urlpatterns = [
    path("api/test/database-down", database_down),
    path("api/test/plain-database-down", plain_database_down),
    path("api/test/things", things),
    path("api/test/boom", boom),
    path("api/test/conflict", conflict),
    path("api/test/private", private),
    path("api/test/plain-boom", plain_boom),
    path("api/test/plain-404", plain_not_found),
    path("api/test/plain-body", plain_body),
    path("api/test/plain-query", plain_query),
    path("", include("config.urls")),
]
