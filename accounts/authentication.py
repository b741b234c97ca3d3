"""Dashboard-session authentication.

Each authentication class returns `(user, Principal)`; this one turns a logged-in
dashboard session into a Principal for the session's active organization.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied

from accounts.models import Membership
from accounts.principal import AuthMethod, Principal
from accounts.selectors import active_membership
from config.authlog import log_unauthorized

# The dashboard's organization switcher stores the chosen organization here.
ACTIVE_ORG_SESSION_KEY = "active_org_id"


def session_principal(request: Any, user: Any) -> Principal | None:
    """The Principal of a dashboard user: the session's active organization if the
    user still belongs to it, else their first membership; None without any."""
    memberships = list(Membership.objects.filter(user=user).select_related("organization"))
    membership = active_membership(memberships, request.session.get(ACTIVE_ORG_SESSION_KEY))
    if membership is None:
        return None
    org = membership.organization
    return Principal(
        method=AuthMethod.SESSION,
        organization_id=org.id,
        user_id=user.pk,
        rate_limit=org.rate_limit_per_minute,
    )


class SessionPrincipalAuthentication(SessionAuthentication):
    """DRF's session authentication (CSRF enforced) with a Principal as `request.auth`.

    Keep it last: DRF asks only the first class for a WWW-Authenticate header.
    """

    def authenticate(self, request):
        user = getattr(request._request, "user", None)
        if not user or not user.is_active:
            return None
        try:
            self.enforce_csrf(request)
        except PermissionDenied:
            log_unauthorized(request, f"CSRF check failed for session user {user.pk}")
            raise
        principal = session_principal(request._request, user)
        if principal is None:
            log_unauthorized(request, f"session user {user.pk} belongs to no organization")
            raise PermissionDenied("Your account does not belong to any organization.")
        return (user, principal)
