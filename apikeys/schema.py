"""OpenAPI (drf-spectacular) descriptions of our authentication schemes and strict bodies."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.APIKeyAuthentication"
    name = ["apiKeyBearer", "apiKeyHeader"]

    def get_security_definition(self, auto_schema):
        prefix = settings.API_KEY_PREFIX
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": f"{prefix}_live_… or {prefix}_test_…",
                "description": "An organization API key as `Authorization: Bearer <key>`.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "The same key in `X-API-Key` (wins over Bearer by default).",
            },
        ]

    def get_security_requirement(self, auto_schema):
        # Either header, not both.
        return [{"apiKeyBearer": []}, {"apiKeyHeader": []}]


class SessionPrincipalScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SessionPrincipalAuthentication"
    name = "dashboardSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "A dashboard login session; unsafe methods need the CSRF token "
            "in X-CSRFToken.",
        }


class StrictSerializerScheme(OpenApiSerializerExtension):
    """A StrictSerializer refuses fields it does not know: say so in the schema
    (`additionalProperties: false`), so clients and fuzzers know extras are a 400."""

    target_class = "config.fields.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
