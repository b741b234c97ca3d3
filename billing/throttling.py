"""Anonymous per-client-address rate limits, one bucket per route group.

SIWE nonce, SIWE verify and headless key creation are reachable without
credentials, so their only identity is the client address (`client_ip`, which
believes X-Forwarded-For only from TRUSTED_PROXIES). Each group has its own
bucket so that a burst of nonce requests does not lock the same address out of
verification. Authenticated requests are left to the principal's throttle.

Use a predefined class, or subclass with a `scope`, or set `throttle_scope` on
the view:

    class SiweNonceView(APIView):
        throttle_classes = [SiweNonceThrottle]
"""

from __future__ import annotations

import re
import time
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.principal import Principal
from billing import ratelimit

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@lru_cache(maxsize=32)
def parse_rate(rate: str) -> tuple[int, int]:
    """ "30/m" -> (30, 60); "100/5m" -> (100, 300). The count must be at least 1."""
    match = _RATE.match(rate or "")
    if not match or int(match.group(1)) < 1:
        raise ImproperlyConfigured(
            f'A rate is "<count>/<period>" with a period of s, m, h or d (e.g. "30/m"), '
            f"got {rate!r}"
        )
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _SECONDS[unit]


class AnonymousRateThrottle(BaseThrottle):
    """ANONYMOUS_RATE per client address per route group, on the shared cache."""

    scope: str = ""  # the route group; falls back to the view's `throttle_scope`

    def allow_request(self, request: Request, view) -> bool:
        if isinstance(request.auth, Principal):
            return True
        scope = self.scope or getattr(view, "throttle_scope", "")
        if not scope:
            raise ImproperlyConfigured(
                f"{type(self).__name__} on {type(view).__name__} needs a scope (route group)."
            )
        limit, period = parse_rate(settings.ANONYMOUS_RATE)
        self.state = ratelimit.hit(
            f"anon:{scope}:{ratelimit.client_ip(request)}", limit, period=period
        )
        ratelimit.remember(request, self.state)
        return self.state.allowed

    def wait(self) -> float | None:
        state = getattr(self, "state", None)
        if state is None:
            return None
        return max(1, state.reset - int(time.time()))


class SiweNonceThrottle(AnonymousRateThrottle):
    scope = "siwe-nonce"


class SiweVerifyThrottle(AnonymousRateThrottle):
    scope = "siwe-verify"


class HeadlessKeyCreateThrottle(AnonymousRateThrottle):
    scope = "key-create-headless"
