"""The same JSON answer as the full stack's trivial endpoint, from a plain view."""

from django.http import HttpResponse, JsonResponse
from django.urls import path


def hello(request):
    # Compact separators: the same bytes as DRF's JSONRenderer sends.
    return JsonResponse({"hello": "world"}, json_dumps_params={"separators": (",", ":")})


def healthz(request):
    return HttpResponse("ok")


urlpatterns = [
    path("bench/noauth", hello),
    path("healthz", healthz),
]
