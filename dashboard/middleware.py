"""Headers of the dashboard's pages."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Other owners of their pages: the API (JSON), the admin and the API docs
# (Swagger UI, which runs inline script) set their own policies.
_NOT_OURS = ("/api/", "/admin/")


class ContentSecurityPolicyMiddleware:
    """Content-Security-Policy on every page that is not the API's, the admin's or a
    static file's: scripts only from our own static files (no inline script, no
    onclick=), no framing (frame-ancestors 'none')."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path
        if path.startswith(_NOT_OURS) or path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return response
        if "text/html" in response.get("Content-Type", ""):
            response.setdefault("Content-Security-Policy", settings.DASHBOARD_CSP)
        return response
