"""Reads of accounts that more than one app needs."""

from __future__ import annotations

from accounts.models import Membership, Organization, Role, User

# What wallet_account_find answers: (user, its organization or None), or None
# when no user has the wallet.
WalletAccountFound = tuple[User, Organization | None] | None


def wallet_account_find(*, address: str) -> WalletAccountFound:
    """(user, the organization it owns — its oldest — or None) for a checksummed address.

    A wallet's organization is the one created with its account; if the user
    was later made owner of others, the oldest ownership still wins, so the
    answer does not change under a signed-in wallet.

    One query for a wallet with an account (the ownership, joined to its user
    and organization); a second, for the user alone, only when there is none.
    """
    membership = (
        Membership.objects.filter(user__wallet_address=address, role=Role.OWNER)
        .select_related("user", "organization")
        .order_by("created_at", "id")
        .first()
    )
    if membership is not None:
        return membership.user, membership.organization
    user = User.objects.filter(wallet_address=address).first()
    return (user, None) if user is not None else None
