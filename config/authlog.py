"""The failed-authentication log and count every authentication path shares.

`Unauthorized access attempt: <reason> from <ip>` is the one log line of a
refused credential; failures count against the client address
(AUTH_FAILURE_RATE), and past it a client gets `AuthenticationThrottled` (429).
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions

from config import ratelimit
from config.net import client_ip

logger = logging.getLogger("gatehouse.auth")


def log_unauthorized(request: Any, reason: str) -> None:
    """The one log line of every authentication failure. `reason` may name a key's
    hint, never the key."""
    logger.warning("Unauthorized access attempt: %s from %s", reason, client_ip(request))


def auth_failed(request: Any, reason: str) -> None:
    """Log a failed authentication and count it against the client's address
    (AUTH_FAILURE_RATE). Auth classes call this before raising."""
    log_unauthorized(request, reason)
    ratelimit.count_auth_failure(client_ip(request))


class AuthenticationThrottled(exceptions.Throttled):
    default_detail = "Too many failed authentication attempts from this address."
