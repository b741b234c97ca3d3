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

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.principal import Principal
from billing import ratelimit
from config.net import client_ip


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
        limit, period = ratelimit.parse_rate(settings.ANONYMOUS_RATE)
        # No usable peer address (a misconfigured server) shares one bucket:
        # failing towards limiting rather than towards no limit at all.
        address = client_ip(request) or "unknown"
        self.state = ratelimit.hit(f"anon:{scope}:{address}", limit, period=period)
        ratelimit.remember(request, self.state)
        return self.state.allowed

    def wait(self) -> float | None:
        state: ratelimit.RateState | None = getattr(self, "state", None)
        return state.retry_after if state is not None else None


class SiweNonceThrottle(AnonymousRateThrottle):
    scope = "siwe-nonce"


class SiweVerifyThrottle(AnonymousRateThrottle):
    scope = "siwe-verify"


class HeadlessKeyCreateThrottle(AnonymousRateThrottle):
    scope = "key-create-headless"
