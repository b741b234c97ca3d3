"""A test-only URLconf: DRF views that fail in each way the envelope must cover."""

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


urlpatterns = [
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
