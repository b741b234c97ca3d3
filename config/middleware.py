"""Request ids for logs and responses, and the error envelope for failures that
happen outside DRF views under /api/."""

from __future__ import annotations

import contextvars
import hmac
import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("gatehouse.errors")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs a 4xx/5xx after the middleware has returned (and the
        # context variable is reset), but hands the request along with the record.
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or _request_id.get()
        return True


class RequestIdMiddleware:
    """Takes a well-formed incoming X-Request-ID (from a load balancer) or makes one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class ApiErrorMiddleware:
    """Last line of defence: an exception escaping a non-DRF view under /api/."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        # Imported here: LOGGING loads this module (RequestIdLogFilter) before the app
        # registry is ready, and config.errors pulls in DRF, which imports the
        # authentication classes, which import models.
        from config.errors import INTERNAL_ERROR_MESSAGE, django_request_error, error_response

        refusal = django_request_error(exception)
        if refusal is not None:  # a 404, 403, 400 or 413 that Django raised, not a bug
            status, code, message = refusal
            return error_response(status, code, message)
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        return error_response(500, "INTERNAL_ERROR", INTERNAL_ERROR_MESSAGE)


class ServerTokenMiddleware:
    """Single-tenant mode (the elizaOS server's ELIZA_SERVER_AUTH_TOKEN): when
    SERVER_AUTH_TOKEN is set, every /api/ request must carry it in X-API-KEY.

    CORS preflights pass (browsers send them without custom headers). The token is
    compared in constant time; failures are logged with the client address and
    count against AUTH_FAILURE_RATE, past which a wrong token gets 429 while the
    right one still passes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = settings.SERVER_AUTH_TOKEN
        if not token or request.method == "OPTIONS" or not is_api_path(request.path):
            return self.get_response(request)
        given = request.META.get("HTTP_X_API_KEY", "")
        if hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8")):
            return self.get_response(request)
        # Imported here: the auth helpers import models, which the settings-time
        # import of this module must not.
        from config import ratelimit
        from config.authlog import auth_failed, log_unauthorized
        from config.errors import error_response
        from config.net import client_ip

        over = ratelimit.auth_failures_exceeded(client_ip(request))
        if over is not None:
            log_unauthorized(request, "server token refused, too many failed attempts")
            response = error_response(429, "RATE_LIMITED", "Too many failed attempts.")
            response["Retry-After"] = str(over.retry_after)
            return response
        auth_failed(request, "missing server token" if not given else "invalid server token")
        return error_response(
            401, "UNAUTHORIZED", "Unauthorized: this server requires its token in X-API-KEY."
        )
