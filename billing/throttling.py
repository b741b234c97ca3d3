"""The per-principal rate limit as a DRF throttle.

Every authenticated request counts once against its principal's bucket (an API
key, a wallet, a dashboard user) in the shared cache. The API-key authentication
has usually taken the count already in its single cache round trip; then the
throttle only reads it. Over the limit: 429 RATE_LIMITED with Retry-After.
The X-RateLimit-* headers are added by `billing.middleware.RateLimitHeadersMiddleware`
so that every response of an authenticated request carries them, errors included.

Anonymous endpoints (SIWE nonce, SIWE verify, headless key creation) are
reachable without credentials, so their only identity is the client address
(`config.net.client_ip`, which believes X-Forwarded-For only from
TRUSTED_PROXIES): `AnonymousRateThrottle` allows ANONYMOUS_RATE per address per
route group, each group with its own bucket so that a burst of nonce requests
does not lock the same address out of verification. Set `throttle_scope` on the
view, or subclass with a `scope`:

    class SiweNonceView(APIView):
        throttle_classes = [AnonymousRateThrottle]
        throttle_scope = "siwe-nonce"
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.principal import Principal
from config import ratelimit
from config.net import client_ip


def principal_rate_state(request: Any) -> ratelimit.RateState | None:
    """The request's rate state, counting the request now if nothing has yet."""
    state = ratelimit.remembered(request)
    if state is None:
        principal = getattr(request, "auth", None)
        if not isinstance(principal, Principal):
            return None
        state = ratelimit.hit(principal.rate_bucket, principal.rate_limit)
        ratelimit.remember(request, state)
    return state


class PrincipalRateThrottle(BaseThrottle):
    """Limits by `request.auth.rate_bucket` at `request.auth.rate_limit` per minute;
    anonymous requests pass (their limits are per address, elsewhere)."""

    state: ratelimit.RateState | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        self.state = principal_rate_state(request)
        if self.state is None or self.state.allowed:
            return True
        raise Throttled(
            wait=self.state.retry_after,
            detail=f"Rate limit exceeded: {self.state.limit} requests per minute.",
        )

    def wait(self) -> float | None:
        return self.state.retry_after if self.state else None


class AnonymousRateThrottle(BaseThrottle):
    """ANONYMOUS_RATE per client address per route group, on the shared cache."""

    scope: str = ""  # the route group; falls back to the view's `throttle_scope`
    state: ratelimit.RateState | None = None

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
        # Remembered, so RateLimitHeadersMiddleware puts X-RateLimit-* on the response.
        ratelimit.remember(request, self.state)
        if self.state.allowed:
            return True
        raise Throttled(
            wait=self.state.retry_after,
            detail=f"Rate limit exceeded: {limit} requests per {period} s from this address.",
        )

    def wait(self) -> float | None:
        return self.state.retry_after if self.state else None


class HeadlessKeyCreateThrottle(AnonymousRateThrottle):
    scope = "key-create-headless"
