"""The same JSON answer as the full stack's trivial endpoint, from a plain view."""

from django.http import HttpResponse, JsonResponse
from django.urls import path


def hello(request):
    return JsonResponse({"hello": "world"})


def healthz(request):
    return HttpResponse("ok")


urlpatterns = [
    path("bench/noauth", hello),
    path("healthz", healthz),
]
