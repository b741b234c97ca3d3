"""Permission classes over `request.auth` (a Principal).

`HasPermission("chat:write")` is a DRF permission class made for one permission.
A bare scoped name (`HasPermission("chat")`) asks for `chat:read` on safe methods
and `chat:write` otherwise, PostHog-style. Semantics of `Principal.permits`: an
empty grant list means all, a bare grant covers read and write, write implies read.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.principal import KNOWN_PERMISSIONS, SCOPED_PERMISSIONS, Principal
from config.authlog import log_unauthorized

INSUFFICIENT = "Insufficient permissions"


def required_permission(permission: str, method: str) -> str:
    if permission in SCOPED_PERMISSIONS:
        return f"{permission}:{'read' if method in SAFE_METHODS else 'write'}"
    return permission


class _HasPermission(BasePermission):
    permission = ""
    message = INSUFFICIENT

    def has_permission(self, request: Any, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            return False  # unauthenticated: DRF answers 401
        required = required_permission(self.permission, request.method)
        if principal.has_permission(required):
            return True
        log_unauthorized(
            request, f"insufficient permissions ({required}) for key {principal.key_hint}"
        )
        return False


@cache
def HasPermission(permission: str) -> type[BasePermission]:
    """The DRF permission class requiring `permission` (checked when the module loads,
    so a typo fails at import instead of silently allowing or refusing)."""
    if permission not in KNOWN_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return type(f"HasPermission[{permission}]", (_HasPermission,), {"permission": permission})
