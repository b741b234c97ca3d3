"""How the OpenAPI document describes operations (the views serving it are in
config.schema_views).

`AutoSchema` (DRF's DEFAULT_SCHEMA_CLASS) adds to every operation what every view
shares and no view should have to repeat: the error responses it can give, all in
the envelope (config.errors), and the headers every response carries. A view
documents only what is its own (a 409, a 402, a more precise description).

Loaded by DRF's settings while views are being defined, so it imports no view.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(required=False)


class ErrorSerializer(serializers.Serializer):
    """The envelope of every error (config.errors)."""

    error = ErrorBodySerializer()


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


COMMON_ERRORS = {
    400: "VALIDATION_ERROR: a malformed body, query or credential header; "
    "`details.fields` names the fields.",
    401: "UNAUTHORIZED: missing, malformed, expired or revoked credentials.",
    403: "FORBIDDEN: the credentials lack a permission, or the caller's address is not "
    "allowed for this key.",
    404: "NOT_FOUND (or KEY_NOT_FOUND): no such object for this organization, or no such page.",
    413: "PAYLOAD_TOO_LARGE: the body is over the upload limit.",
    415: "UNSUPPORTED_MEDIA_TYPE: the body must be application/json.",
    429: "RATE_LIMITED: over the key's, wallet's or address's limit; see Retry-After.",
    503: "SERVICE_UNAVAILABLE: a backing service (the rate-limit store) is not answering.",
}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _header(description: str, *, required: bool = False, kind: str = "integer") -> dict[str, Any]:
    return {"schema": {"type": kind}, "description": description, "required": required}


REQUEST_ID = _header(
    "This request's id (the caller's well-formed X-Request-ID, else a new one); "
    "quote it when reporting a problem.",
    required=True,
    kind="string",
)
RATE_HEADERS = {
    "X-RateLimit-Limit": _header("Requests allowed per minute for these credentials."),
    "X-RateLimit-Remaining": _header("Requests left in the current minute."),
    "X-RateLimit-Reset": _header("Unix seconds when the current minute's window ends."),
}
RETRY_AFTER = _header("Seconds to wait before trying again.", required=True)


class AutoSchema(SpectacularAutoSchema):
    def get_auth(self) -> list[dict[str, Any]]:
        auth = super().get_auth()
        # A view taking requests without credentials for some methods (headless key
        # creation) says so in `anonymous_methods`; its permissions are decided per
        # request, which schema generation cannot see.
        if self.method in getattr(self.view, "anonymous_methods", ()) and {} not in auth:
            auth.append({})
        return auth

    def _is_authenticated(self) -> bool:
        return bool(self.view.get_authenticators())

    def _error_statuses(self) -> set[int]:
        statuses = {400, 429, 503}
        if self._is_authenticated():
            statuses |= {401, 403}
        elif any(not isinstance(p, AllowAny) for p in self.view.get_permissions()):
            statuses.add(403)  # e.g. a CSRF check on a view that reads no credentials
        if "{" in self.path or self._is_list_view():
            statuses.add(404)  # no such object, or no such page
        if self.method in BODY_METHODS:
            statuses |= {413, 415}
        return statuses

    def _get_response_bodies(self, direction="response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status in sorted(self._error_statuses()):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error_response(COMMON_ERRORS[status]), str(status), direction=direction
                )
        return dict(sorted(responses.items()))

    def _get_response_headers_for_code(self, status_code, direction="response") -> dict[str, Any]:
        headers = dict(super()._get_response_headers_for_code(status_code, direction))
        headers.setdefault("X-Request-ID", REQUEST_ID)
        # Set for authenticated requests (not on a 401: no one was recognised).
        if self._is_authenticated() and str(status_code) != "401":
            for name, header in RATE_HEADERS.items():
                headers.setdefault(name, header)
        if str(status_code) == "429":
            headers.setdefault("Retry-After", RETRY_AFTER)
        return headers


SHARED_HEADERS = {"X-Request-ID": REQUEST_ID, **RATE_HEADERS, "Retry-After": RETRY_AFTER}


def postprocess_shared_headers(result, generator, request, public) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook: each shared header is described once,
    under components.headers, and every response refers to it."""
    used: set[str] = set()
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                headers = response.get("headers", {})
                for name, header in headers.items():
                    if SHARED_HEADERS.get(name) == header:
                        headers[name] = {"$ref": f"#/components/headers/{name}"}
                        used.add(name)
    if used:
        result.setdefault("components", {})["headers"] = {
            name: SHARED_HEADERS[name] for name in sorted(used)
        }
    return result
