"""Reads of accounts that more than one app needs."""

from __future__ import annotations

from accounts.models import Membership, Organization, Role, User


def wallet_account_find(*, address: str) -> tuple[User, Organization | None] | None:
    """(user, the organization it owns — its oldest — or None) for a checksummed address.

    A wallet's organization is the one created with its account; if the user
    was later made owner of others, the oldest ownership still wins, so the
    answer does not change under a signed-in wallet.
    """
    user = User.objects.filter(wallet_address=address).first()
    if user is None:
        return None
    membership = (
        Membership.objects.filter(user=user, role=Role.OWNER)
        .select_related("organization")
        .order_by("created_at", "id")
        .first()
    )
    return user, membership.organization if membership else None
