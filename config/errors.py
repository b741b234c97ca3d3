"""One error envelope for every layer under /api/.

`{"error": {"code": "...", "message": "...", "details": {...}}}`. Domain code
raises `ServiceError` subclasses; `api_exception_handler` renders them, DRF's
own exceptions and anything unexpected (500 with the request id, never a
traceback). A ServiceError is also a DRF APIException, so one raised inside an
authentication class leaves the request unauthenticated and reaches the same
handler, with no wrapper. `status_of` is the one mapping from an exception to
its status, for the handler and for metering's refunds.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from config.net import client_ip

logger = logging.getLogger("gatehouse.errors")
auth_logger = logging.getLogger("gatehouse.auth")


INTERNAL_ERROR_MESSAGE = "Internal server error. Quote the X-Request-ID header when reporting it."


class ServiceError(drf.APIException):
    """Base of every domain error; carries its API code and HTTP status, and any
    response headers (`headers`)."""

    status_code = 400
    code = "VALIDATION_ERROR"
    default_message = "Invalid request."
    headers: dict[str, str] | None = None

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details
        self.detail = self.message
        Exception.__init__(self, self.message)


class ValidationFailed(ServiceError):
    status_code = 400
    code = "VALIDATION_ERROR"
    default_message = "Invalid request."


class Unauthorized(ServiceError):
    status_code = 401
    code = "UNAUTHORIZED"
    default_message = "Invalid or missing authentication"
    # A 401 names a scheme; what every sign-in yields is a bearer key.
    headers = {"WWW-Authenticate": 'Bearer realm="api"'}


class Forbidden(ServiceError):
    status_code = 403
    code = "FORBIDDEN"
    default_message = "Insufficient permissions"


class NotFound(ServiceError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "Not found."


class Conflict(ServiceError):
    status_code = 409
    code = "CONFLICT"
    default_message = "Conflict."


class PaymentRequired(ServiceError):
    status_code = 402
    code = "PAYMENT_REQUIRED"
    default_message = "Payment required."


class InsufficientCredits(PaymentRequired):
    """The balance does not cover a debit; `details` say what it is and what was asked."""

    code = "INSUFFICIENT_CREDITS"
    default_message = "Insufficient credits for this request."


class ServiceUnavailable(ServiceError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    default_message = "A backing service is unavailable; try again shortly."


_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.NotAuthenticated: "UNAUTHORIZED",
    drf.AuthenticationFailed: "UNAUTHORIZED",
    drf.PermissionDenied: "FORBIDDEN",
    drf.NotFound: "NOT_FOUND",
    drf.ValidationError: "VALIDATION_ERROR",
    drf.ParseError: "VALIDATION_ERROR",
    drf.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    drf.NotAcceptable: "NOT_ACCEPTABLE",
    drf.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    drf.Throttled: "RATE_LIMITED",
}

_STATUS_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    402: "PAYMENT_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def invalid_field(field: str, reason: str, *, sep: str = " ") -> ValidationFailed:
    """A 400 naming one field: the message is `<field><sep><reason>`, and
    `details.fields` maps the field to the reason."""
    return ValidationFailed(f"{field}{sep}{reason}", details={"fields": {field: [reason]}})


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def error_response(
    status: int, code: str | None = None, message: str = "", details: Any = None
) -> JsonResponse:
    """An envelope as a plain Django response, for code outside DRF views."""
    return JsonResponse(
        envelope(code or _STATUS_CODES.get(status, "ERROR"), message, details), status=status
    )


def _drf_message(exc: drf.APIException) -> tuple[str, Any]:
    detail = exc.detail
    if isinstance(exc, drf.ValidationError):
        return "Invalid request.", _field_details(detail)
    if isinstance(detail, list | dict):
        return "Invalid request.", detail
    return str(detail), None


def _field_details(detail: Any) -> dict[str, Any]:
    """Validation errors as {"fields": {name: [messages]}} (non-field errors under "_")."""
    if isinstance(detail, dict):
        fields = {
            ("_" if key == "non_field_errors" else key): _flatten(value)
            for key, value in detail.items()
        }
    else:
        fields = {"_": _flatten(detail)}
    return {"fields": fields}


def _flatten(value: Any) -> Any:
    if isinstance(value, list):
        return [_flatten(item) for item in value]
    if isinstance(value, dict):
        return {key: _flatten(item) for key, item in value.items()}
    return str(value)


def _django_refusal(exc: BaseException) -> tuple[int, str, str] | None:
    if isinstance(exc, Http404):
        return 404, "NOT_FOUND", "Not found."
    if isinstance(exc, DjangoPermissionDenied):
        return 403, "FORBIDDEN", "Insufficient permissions"
    if not isinstance(exc, SuspiciousOperation):
        return None
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 413, "PAYLOAD_TOO_LARGE", f"The request body is larger than {limit} bytes."
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return 400, "VALIDATION_ERROR", f"Too many query or form fields (at most {limit})."
    if isinstance(exc, TooManyFilesSent):
        return 400, "VALIDATION_ERROR", "Too many files."
    return 400, "VALIDATION_ERROR", "Bad request."


def django_request_error(exc: Exception) -> tuple[int, str, str] | None:
    """Django's own refusals of a request as (status, code, message), or None.

    Django turns these into 400/403/404 pages itself, but only when they escape
    the view; raised inside a DRF view (reading request.body or request.GET) or
    caught by ApiErrorMiddleware they would otherwise be a 500.
    """
    refusal = _django_refusal(exc)
    if refusal is not None and isinstance(exc, SuspiciousOperation):
        # Django logs these to django.security.<name>; so do we, as it would have.
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
    return refusal


def status_of(exc: BaseException) -> int:
    """The HTTP status api_exception_handler gives an exception."""
    if isinstance(exc, drf.APIException):  # ServiceError included
        return int(exc.status_code)
    refusal = _django_refusal(exc)
    return refusal[0] if refusal is not None else 500


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF EXCEPTION_HANDLER: every exception raised in a view becomes the envelope."""
    headers: dict[str, str] = {}
    status = status_of(exc)
    if isinstance(exc, ServiceError):
        code, message, details = exc.code, exc.message, exc.details
        extra = getattr(exc, "headers", None)
        if extra:
            headers.update(extra)
    elif (refusal := django_request_error(exc)) is not None:
        _, code, message = refusal
        details = None
    elif isinstance(exc, drf.APIException):
        code = next(
            (c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)),
            _STATUS_CODES.get(status, "ERROR"),
        )
        message, details = _drf_message(exc)
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed) and (
            message.startswith("Authentication credentials were not provided")
        ):
            message = "Invalid or missing authentication"
        if isinstance(exc, drf.NotAuthenticated):
            # Bad credentials are logged by the class that refused them; this is
            # the request that brought none.
            auth_logger.warning(
                "Unauthorized access attempt: no credentials for %s from %s",
                getattr(context.get("request"), "path", "?"),
                client_ip(context["request"]) if context.get("request") else None,
            )
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
    else:
        request = context.get("request")
        logger.exception(
            "Unhandled error in %s %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
        )
        code, message, details = "INTERNAL_ERROR", INTERNAL_ERROR_MESSAGE, None
    # Imported here: rest_framework.views loads DEFAULT_AUTHENTICATION_CLASSES on
    # import, and those import this module (their errors), a cycle at start-up.
    from rest_framework.views import set_rollback

    set_rollback()
    return Response(envelope(code, message, details), status=status, headers=headers)
