"""API-key errors, in the project's envelope (config.errors)."""

from __future__ import annotations

from config.errors import Conflict, NotFound


class KeyNotFound(NotFound):
    code = "KEY_NOT_FOUND"
    default_message = "API key not found."


class KeyLimitReached(Conflict):
    code = "KEY_LIMIT_REACHED"
    default_message = "This organization has reached its limit of active API keys."
