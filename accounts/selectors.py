"""Reads of accounts that more than one app needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    return wallet_account_find_with(address=address, annotate={})[0]


def wallet_account_find_with(
    *, address: str, annotate: Mapping[str, Any]
) -> tuple[WalletAccountFound, dict[str, Any]]:
    """wallet_account_find, plus `annotate`'s expressions evaluated on the ownership
    row in the same query (F("organization") in them is the row's organization):
    (found, their values), the values {} when the wallet owns no organization.
    A caller on a higher floor asks here what it needs about the organization
    without a second round trip (wallet.signin: room for another key)."""
    membership = (
        Membership.objects.filter(user__wallet_address=address, role=Role.OWNER)
        .select_related("user", "organization")
        .annotate(**annotate)
        .order_by("created_at", "id")
        .first()
    )
    if membership is not None:
        values = {name: getattr(membership, name) for name in annotate}
        return (membership.user, membership.organization), values
    user = User.objects.filter(wallet_address=address).first()
    return ((user, None) if user is not None else None), {}


def memberships_of(*, user_id: object) -> list[Membership]:
    """A user's memberships with their organizations, oldest first (the switcher)."""
    return list(
        Membership.objects.filter(user_id=user_id)
        .select_related("organization")
        .order_by("created_at", "id")
    )


def organization_members(*, organization_id: object) -> list[Membership]:
    """An organization's members with their users: owners first, then by joining."""
    order = {Role.OWNER: 0, Role.ADMIN: 1, Role.MEMBER: 2}
    members = list(
        Membership.objects.filter(organization_id=organization_id)
        .select_related("user")
        .order_by("created_at", "id")
    )
    return sorted(members, key=lambda m: order.get(m.role, 3))


def active_membership(memberships: list[Membership], wanted_org_id: object) -> Membership | None:
    """The membership a session acts through: the organization the switcher chose
    (ACTIVE_ORG_SESSION_KEY) while the user still belongs to it, else the first.

    The REST API's session authentication and the dashboard's pages both ask this,
    so the organization a page shows is the one its API calls act on."""
    if not memberships:
        return None
    wanted = str(wanted_org_id or "")
    return next((m for m in memberships if str(m.organization_id) == wanted), memberships[0])
