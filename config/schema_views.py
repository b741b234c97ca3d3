"""The OpenAPI document's views: drf-spectacular's, with errors in the envelope.

Their renderers are YAML/OpenAPI-JSON (schema) and HTML (Swagger UI), and DRF
renders an error with the view's negotiated renderer: a 401, 404 or 405 came out
as YAML or as an HTML page under /api/. Errors are rendered as JSON here.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class JSONErrorsMixin:
    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)  # type: ignore[misc]
        renderer = JSONRenderer()
        self.request.accepted_renderer = renderer  # type: ignore[attr-defined]
        self.request.accepted_media_type = renderer.media_type  # type: ignore[attr-defined]
        return response


class SchemaView(JSONErrorsMixin, SpectacularAPIView):
    pass


class SwaggerView(JSONErrorsMixin, SpectacularSwaggerView):
    pass
