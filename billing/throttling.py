"""The per-principal rate limit as a DRF throttle.

Every authenticated request counts once against its principal's bucket (an API
key, a wallet, a dashboard user) in the shared cache. The API-key authentication
has usually taken the count already in its single cache round trip; then the
throttle only reads it. Over the limit: 429 RATE_LIMITED with Retry-After.
The X-RateLimit-* headers are added by `billing.middleware.RateLimitHeadersMiddleware`
so that every response of an authenticated request carries them, errors included.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from accounts.principal import Principal
from billing import ratelimit


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
