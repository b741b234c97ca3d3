"""From a verified wallet address to who is calling: user, organization, Principal.

A known wallet's (user id, organization id, rate limit) is kept in the shared
cache, so a signed request costs no database query. The entry is dropped when
the user, their memberships or the organization change (wallet.signals), and
expires after WALLET_PRINCIPAL_CACHE_SECONDS regardless.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.functional import SimpleLazyObject

from accounts.principal import AuthMethod, Environment, Principal
from config import cache as shared_cache
from wallet.accounts import wallet_account_get_or_create

_VERSION = 1  # bump when the cached tuple's shape changes


def principal_cache_key(address: str) -> str:
    return f"wallet:principal:v{_VERSION}:{address}"


class WalletUser(SimpleLazyObject):
    """The request's user, loaded from the database only if a view touches it.

    DRF's IsAuthenticated asks `is_authenticated` and `bool(user)`; answering
    those without a query keeps the signed-request hot path free of the database.
    """

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user_id: uuid.UUID):
        super().__init__(lambda: get_user_model().objects.get(pk=user_id))

    def __bool__(self) -> bool:
        return True


class WalletAccountUnusable(Exception):
    """The wallet's user is deactivated."""


def wallet_principal(address: str, *, cached: Any) -> tuple[Any, Principal]:
    """(user, Principal) for a verified, checksummed address; creates the account if new.

    `cached`: the value under principal_cache_key(address), which the caller
    fetched in its own cache round trip (None when absent). Raises
    WalletAccountUnusable for a deactivated user.
    """
    key = principal_cache_key(address)
    if _well_formed(cached):
        user_id, org_id, rate_limit = cached
        user: Any = WalletUser(uuid.UUID(user_id))
        return user, _principal(address, uuid.UUID(user_id), uuid.UUID(org_id), rate_limit)

    user, org, _created = wallet_account_get_or_create(address=address)
    if not user.is_active:
        raise WalletAccountUnusable(address)
    rate_limit = org.rate_limit_per_minute
    if settings.WALLET_PRINCIPAL_CACHE_SECONDS:
        shared_cache.put(
            key,
            (str(user.pk), str(org.pk), rate_limit),
            timeout=settings.WALLET_PRINCIPAL_CACHE_SECONDS,
        )
    return user, _principal(address, user.pk, org.pk, rate_limit)


def _well_formed(cached: Any) -> bool:
    # Anything else (an older shape, a foreign value) is ignored: the rows decide.
    return (
        isinstance(cached, tuple)
        and len(cached) == 3
        and isinstance(cached[0], str)
        and isinstance(cached[1], str)
        and isinstance(cached[2], int)
    )


def _principal(address: str, user_id: uuid.UUID, org_id: uuid.UUID, rate_limit: int) -> Principal:
    # A wallet acts as the owner of its organization: every permission (empty set),
    # the plan's rate limit, and the live environment.
    return Principal(
        method=AuthMethod.WALLET,
        organization_id=org_id,
        user_id=user_id,
        rate_limit=rate_limit,
        environment=Environment.LIVE,
        permissions=frozenset(),
        wallet_address=address,
    )
