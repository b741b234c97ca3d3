"""Who may manage an organization's keys (`HasPermission` is accounts')."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from accounts.permissions import INSUFFICIENT
from accounts.principal import AuthMethod, Principal
from config.authlog import log_unauthorized


class CanManageKeys(BasePermission):
    """Key management: a dashboard session, a wallet-signed request, or an API key
    holding `keys`. Any key may revoke itself (the view marks that case with
    `self_revocation = True`)."""

    message = INSUFFICIENT

    def has_permission(self, request: Any, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            return False
        if principal.method in (AuthMethod.SESSION, AuthMethod.WALLET):
            return True
        if principal.has_permission("keys"):
            return True
        if getattr(view, "is_self_revocation", lambda: False)():
            return True
        log_unauthorized(request, f"key {principal.key_hint} lacks the keys permission")
        return False
