"""Keys in URLs: refused in every form, and revoked when valid (SPEC §2).

A URL is written to the access log of every proxy and server it passes, so a
key that appears in one is as good as published. This middleware looks at the
query string of every /api/ request before anything else reads it, in every
spelling a client or an attacker might use (`?<key>`, `?x=%20<key>`, encoded
once or twice), answers 400, and revokes a valid key at once (audit reason
"exposed in a URL"; API_KEY_REVOKE_EXPOSED, default on). The 400 says whether
the key was revoked. (Named parameters such as `?token=…` that do not look like
a key are refused by the authentication class.)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apikeys import keyformat
from apikeys.models import APIKey
from apikeys.services import apikey_revoke
from config.authlog import log_unauthorized
from config.errors import error_response
from config.middleware import is_api_path
from config.net import client_ip

logger = logging.getLogger("gatehouse.apikeys")

EXPOSED_REASON = "exposed in a URL"
_DECODE_ROUNDS = 3  # "%2520" is a space encoded twice; more is not a URL, it is a puzzle
REFUSED = (
    "API keys are not accepted in the URL; send them in the Authorization (Bearer) "
    "or X-API-Key header."
)
REVOKED = (
    "An API key was sent in the URL, where proxies and logs keep it, so it has been "
    "revoked. Create a new key and send it in the Authorization (Bearer) or X-API-Key "
    "header."
)


@lru_cache(maxsize=4)
def _pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(prefix)}_(?:live|test)_[0-9A-Za-z]+")


def keys_in_query(query: str) -> list[str]:
    """Every key-like token in `query`, decoded up to three times."""
    pattern = _pattern(settings.API_KEY_PREFIX)
    found: list[str] = []
    text = query
    for _ in range(_DECODE_ROUNDS):
        found.extend(pattern.findall(text))
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    else:
        found.extend(pattern.findall(text))
    return list(dict.fromkeys(found))


def revoke_exposed(candidates: list[str], *, ip: str | None) -> int:
    """Revoke the active keys among `candidates`; how many were revoked."""
    revoked = 0
    for candidate in candidates:
        parsed = keyformat.parse(candidate)
        if parsed is None:
            continue
        key = APIKey.objects.with_digest(parsed.digest).filter(revoked_at__isnull=True).first()
        if key is None:
            continue
        apikey_revoke(key=key, actor_ip=ip, reason=EXPOSED_REASON)
        logger.warning("API key %s revoked: %s", parsed.hint, EXPOSED_REASON)
        revoked += 1
    return revoked


class KeyInURLMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if not query or not is_api_path(request.path):
            return self.get_response(request)
        candidates = keys_in_query(query)
        if not candidates:
            return self.get_response(request)
        ip = client_ip(request)
        revoked = revoke_exposed(candidates, ip=ip) if settings.API_KEY_REVOKE_EXPOSED else 0
        log_unauthorized(request, f"API key in the URL ({revoked} revoked)")
        return error_response(400, "VALIDATION_ERROR", REVOKED if revoked else REFUSED)
