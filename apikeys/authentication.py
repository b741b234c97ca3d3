"""DRF authentication by API key: `Authorization: Bearer`, `X-API-Key`, and the
header names of settings.API_KEY_EXTRA_HEADERS.

Like DRF's own classes: `authenticate` returns None when the request carries no
key header (the next class tries), and raises only when it does and the key is
bad. Parsing (`key_from_request`) is separate from the check
(`apikeys.check.apikey_verify`), which rejects garbage without I/O and
answers a warm key from one cache round trip.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts.principal import Principal
from apikeys import keyformat
from apikeys.check import KeyCode, apikey_verify
from config import ratelimit
from config.authlog import AuthenticationThrottled, log_unauthorized
from config.net import client_ip

INVALID = "Invalid or missing authentication"

# Query parameters that would put a key in URLs, logs and browser history.
QUERY_KEY_NAMES = frozenset(
    {
        "key",
        "apikey",
        "api_key",
        "api-key",
        "x-api-key",
        "x_api_key",
        "token",
        "access_token",
        "accesstoken",
        "auth",
        "auth_token",
        "authorization",
        "bearer",
    }
)


class KeyUser:
    """`request.user` for an API-key request, built from the cached record: no
    database query. `pk` is the key creator's id (None for operator-made keys);
    views that need the person load it by `request.auth.user_id`."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, principal: Principal):
        self.pk = self.id = principal.user_id
        self.username = f"api-key {principal.key_hint}"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def __str__(self) -> str:
        return self.username


def _header(meta: dict[str, Any], name: str) -> str | None:
    return meta.get("HTTP_" + name.upper().replace("-", "_"))


def key_from_request(request: Any) -> str | None:
    """The presented key, or None when no header of this scheme is present.

    X-API-Key (and the extra names) beat Bearer unless API_KEY_HEADER_PRECEDENCE is
    "bearer". When SERVER_AUTH_TOKEN is set, X-API-Key carries the server token and
    organization keys travel as Bearer only. An empty value counts as present (a
    client that sends an empty key gets a 401, not silently another identity).
    """
    meta = request.META
    named: list[str | None] = []
    if not getattr(settings, "SERVER_AUTH_TOKEN", ""):
        named.append(meta.get("HTTP_X_API_KEY"))
    named.extend(_header(meta, name) for name in settings.API_KEY_EXTRA_HEADERS)
    bearer = None
    authorization = meta.get("HTTP_AUTHORIZATION")
    if authorization is not None:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            bearer = credentials.strip()
    ordered = (
        [*named, bearer] if settings.API_KEY_HEADER_PRECEDENCE != "bearer" else [bearer, *named]
    )
    present = [value.strip() for value in ordered if value is not None]
    if not present:
        return None
    return next((value for value in present if value), "")


def refuse_key_in_query(request: Any) -> None:
    """400 for a key in the URL, whatever else the request carries."""
    params = request._request.GET
    if not params:
        return
    for name, values in params.lists():
        if name.lower() in QUERY_KEY_NAMES or any(keyformat.looks_like_key(v) for v in values):
            log_unauthorized(request, f"credentials in the query string ({name[:40]!r})")
            raise exceptions.ParseError(
                "API keys are not accepted in the URL; send them in the Authorization "
                "(Bearer) or X-API-Key header."
            )


class APIKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        refuse_key_in_query(request)
        raw = key_from_request(request)
        if raw is None:
            return None
        ip = client_ip(request)
        check = apikey_verify(raw, ip=ip, failures_from=ip)
        if check.locked_out:
            log_unauthorized(request, f"too many failed attempts; key {check.hint}")
            limit, period = ratelimit.auth_failure_rate()
            state = ratelimit.peek(ratelimit.auth_failure_bucket(ip or ""), limit, period)
            raise AuthenticationThrottled(wait=state.retry_after)
        if check.malformed:
            log_unauthorized(request, "malformed API key")
            raise exceptions.AuthenticationFailed(INVALID)
        if check.code is KeyCode.NOT_FOUND:
            log_unauthorized(request, f"unknown API key {check.hint}")
            raise exceptions.AuthenticationFailed(INVALID)
        if check.code is KeyCode.EXPIRED:
            log_unauthorized(request, f"expired API key {check.hint}")
            raise exceptions.AuthenticationFailed("API key has expired")
        if check.code is KeyCode.REVOKED:
            log_unauthorized(request, f"revoked API key {check.hint}")
            raise exceptions.AuthenticationFailed("API key has been revoked")
        if check.code is KeyCode.FORBIDDEN:
            log_unauthorized(request, f"API key {check.hint} used from outside its allow-list")
            raise exceptions.PermissionDenied("This API key may not be used from this address.")
        principal = check.principal
        if check.rate is not None:
            ratelimit.remember(request, check.rate)
        return (KeyUser(principal), principal)

    def authenticate_header(self, request) -> str:
        # A 401 (not a 403) when credentials are missing or bad.
        return 'Bearer realm="api"'
