"""Who is calling, as every authentication class describes it.

DRF authentication classes return `(user, principal)`; views and permission,
throttle and metering classes read `request.auth` (a Principal), never headers.
It is small, immutable and cacheable: ids, not model instances.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import models

# Scoped products: each usable bare (read and write) or as `name:read` / `name:write`.
SCOPED_PERMISSIONS = (
    "chat",
    "embeddings",
    "images",
    "video",
    "voice",
    "knowledge",
    "agents",
    "apps",
)
# Whole-resource permissions, no `:read` / `:write` forms.
PLAIN_PERMISSIONS = ("keys", "billing", "verify")
KNOWN_PERMISSIONS = frozenset(
    [*SCOPED_PERMISSIONS, *PLAIN_PERMISSIONS]
    + [f"{name}:{mode}" for name in SCOPED_PERMISSIONS for mode in ("read", "write")]
)


class Environment(models.TextChoices):
    """A key's environment: live, or test (a sandbox: never charged)."""

    LIVE = "live", "Live"
    TEST = "test", "Test (sandbox, never charged)"


def is_charged(environment: str) -> bool:
    """Test keys are never charged (metering and the remote verify endpoint ask here)."""
    return environment != Environment.TEST


class AuthMethod(StrEnum):
    API_KEY = "api_key"
    WALLET = "wallet"
    SESSION = "session"


def permits(granted: frozenset[str], required: str) -> bool:
    """Does a key holding `granted` allow `required`?

    Empty `granted` means every permission of the organization. A bare name
    grants read and write; `name:write` implies `name:read`.
    """
    if not granted or required in granted:
        return True
    name, _, mode = required.partition(":")
    if name in granted:
        return True
    return mode == "read" and f"{name}:write" in granted


@dataclass(frozen=True, slots=True)
class Principal:
    method: AuthMethod
    organization_id: uuid.UUID
    user_id: uuid.UUID | None
    rate_limit: int  # requests per minute: the key's own, else the plan's
    environment: str = Environment.LIVE
    permissions: frozenset[str] = field(default_factory=frozenset)  # empty = all
    key_id: uuid.UUID | None = None
    key_hint: str | None = None
    wallet_address: str | None = None

    def has_permission(self, required: str) -> bool:
        return permits(self.permissions, required)

    @property
    def is_test(self) -> bool:
        return self.environment == Environment.TEST

    @property
    def rate_bucket(self) -> str:
        """Rate-limit bucket: the verified identity this principal stands for."""
        if self.key_id is not None:
            return f"key:{self.key_id}"
        if self.wallet_address is not None:
            return f"wallet:{self.wallet_address}"
        return f"user:{self.user_id}"
