"""A wallet's account: found, or made on its first sign-in with its sign-up credits.

accounts makes the user and organization (race-safe); billing grants the
credits. Both happen in one transaction, so no account exists without them.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction

from accounts.models import Organization, User
from accounts.selectors import WalletAccountFound, wallet_account_find
from accounts.services import wallet_account_ensure
from accounts.wallet_address import checksum_address
from billing.services import credits_grant_signup
from config import cache as shared_cache
from config import ratelimit
from config.errors import RateLimited

_PENDING, _ALLOWED, _REFUSED = "pending", "allowed", "refused"
_PENDING_SECONDS = 2  # the first request for a wallet decides within one round trip


class SignupsExhausted(RateLimited):
    default_message = "Too many new accounts from this address; try again later."


def signup_allow(*, client_ip: str | None, address: str) -> None:
    """Count one new account against SIGNUP_RATE for the client's address (SPEC §3);
    SignupsExhausted (429) past it. Every path that creates an account asks here
    first, before it spends a nonce or writes anything; existing wallets never do.

    A wallet counts once per client address and window, however many requests
    for it arrive at once (twenty parallel first sign-ins of one wallet are one
    sign-up): the first request counts and records the verdict, the others wait
    a moment for it and share it, so every request for a wallet gets the same
    answer and no burst slips past a refusal."""
    if client_ip is None:
        return
    limit, period = ratelimit.parse_rate(settings.SIGNUP_RATE)
    marker = f"signup:{client_ip}:{address.lower()}"
    if shared_cache.add(marker, _PENDING, timeout=_PENDING_SECONDS):
        state = ratelimit.hit(f"signup:{client_ip}", limit, period)
        shared_cache.put(marker, _ALLOWED if state.allowed else _REFUSED, timeout=period)
        if not state.allowed:
            raise SignupsExhausted(retry_after=state.retry_after)
        return
    verdict = shared_cache.get(marker)
    deadline = time.monotonic() + _PENDING_SECONDS
    while verdict == _PENDING and time.monotonic() < deadline:
        time.sleep(0.01)
        verdict = shared_cache.get(marker)
    if verdict != _ALLOWED:  # refused, or the first request never decided: fail closed
        raise SignupsExhausted(retry_after=1)


def wallet_account_get_or_create(
    *, address: str, client_ip: str | None = None
) -> tuple[User, Organization, bool]:
    """(user, organization, created) of a wallet, looked up here. A new wallet counts
    against SIGNUP_RATE for `client_ip`."""
    checksummed = checksum_address(address)
    found = wallet_account_find(address=checksummed)
    if found is None:
        signup_allow(client_ip=client_ip, address=checksummed)
    return wallet_account_open(address=checksummed, found=found)


def wallet_account_open(
    *, address: str, found: WalletAccountFound
) -> tuple[User, Organization, bool]:
    """(user, organization, created) from what `wallet_account_find` answered moments
    ago: an account found complete costs no query; anything else is completed or
    created, with the sign-up credits (granted once per wallet, whatever races)."""
    if found is not None and found[1] is not None:
        return found[0], found[1], False
    with transaction.atomic():
        user, org, created = wallet_account_ensure(address=address, found=found)
        credits_grant_signup(organization=org, address=checksum_address(address))
    return user, org, created
