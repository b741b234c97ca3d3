"""Project-level views: health, and Django's error handlers (JSON under /api/)."""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.errors import INTERNAL_ERROR_MESSAGE, error_response
from config.middleware import is_api_path

logger = logging.getLogger("gatehouse.health")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("Health check: database is not answering")
        return False


def _cache_ok() -> bool:
    probe = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(probe, "1", timeout=5)
        ok = cache.get(probe) == "1"
        cache.delete(probe)
        return ok
    except Exception:
        logger.exception("Health check: cache is not answering")
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    checks = {
        "database": "ok" if _database_ok() else "unavailable",
        "cache": "ok" if _cache_ok() else "unavailable",
    }
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        return error_response(
            503, "SERVICE_UNAVAILABLE", f"Not answering: {', '.join(down)}", {"checks": checks}
        )
    return JsonResponse({"status": "ok", "checks": checks})


def api_not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    return error_response(404, "NOT_FOUND", f"No endpoint at {request.path}.")


def bad_request(request: HttpRequest, exception: Exception, *args, **kwargs) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(400, "VALIDATION_ERROR", "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception, *args, **kwargs) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(403, "FORBIDDEN", "Insufficient permissions")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception, *args, **kwargs) -> HttpResponse:
    if is_api_path(request.path):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(500, "INTERNAL_ERROR", INTERNAL_ERROR_MESSAGE)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api_path(request.path):
        return error_response(403, "FORBIDDEN", f"CSRF check failed: {reason}")
    from django.views.csrf import csrf_failure as default

    return default(request, reason)
