"""X-RateLimit-Limit / -Remaining / -Reset on every response to an authenticated request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from billing.throttling import principal_rate_state
from config.errors import ServiceUnavailable


class RateLimitHeadersMiddleware:
    """Adds the rate headers after the view has run. A request refused before the
    throttle ran (a 403 from a permission class, say) is still authenticated: it is
    counted here, once, so it carries the headers too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        try:
            state = principal_rate_state(request)
        except ServiceUnavailable:
            # RATE_LIMIT_FAIL_OPEN is off and the counter store is away: the view
            # has already answered (503 from the throttle); no headers to add, and
            # raising here would turn that answer into a 500.
            return response
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response
