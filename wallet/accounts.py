"""A wallet's account: found, or made on its first sign-in with its sign-up credits.

accounts makes the user and organization (race-safe); billing grants the
credits. Both happen in one transaction, so no account exists without them.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import Organization, User
from accounts.selectors import WalletAccountFound, wallet_account_find
from accounts.services import wallet_account_ensure
from accounts.wallet_address import checksum_address
from billing.services import credits_grant_signup


def wallet_account_get_or_create(*, address: str) -> tuple[User, Organization, bool]:
    """(user, organization, created) of a wallet, looked up here."""
    checksummed = checksum_address(address)
    return wallet_account_open(address=checksummed, found=wallet_account_find(address=checksummed))


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
