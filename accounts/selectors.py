"""Reads of accounts that more than one app needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field

from accounts.models import Membership, Organization, Role, User
from config import rows

# What wallet_account_find answers: (user, its organization or None), or None
# when no user has the wallet.
WalletAccountFound = tuple[User, Organization | None] | None


def wallet_account_find(*, address: str) -> WalletAccountFound:
    """(user, the organization it owns — its oldest — or None) for a checksummed address.

    A wallet's organization is the one created with its account; if the user
    was later made owner of others, the oldest ownership still wins, so the
    answer does not change under a signed-in wallet.

    One query, whether the wallet has an account, an account without an
    organization, or none.
    """
    return wallet_account_find_with(address=address, annotate={})[0]


class OwnerValue(Protocol):
    """A value wallet_account_find_with computes in its one statement from the
    organization the wallet owns: SQL over that organization's quoted id column,
    its parameters in order, and the field whose converters read the result."""

    output_field: Field

    def sql_against(
        self, organization_column: str, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple]: ...


def wallet_account_find_with(
    *, address: str, annotate: Mapping[str, OwnerValue]
) -> tuple[WalletAccountFound, dict[str, Any]]:
    """wallet_account_find, plus `annotate`'s values computed on the organization
    in the same statement: (found, their values), the values {} when the wallet
    owns no organization. A caller on a higher floor asks here what it needs about
    the organization without a second round trip (wallet.signin: room for another
    key).

    The statement is written here rather than by the ORM because it runs on every
    SIWE sign-in, and building and compiling the equivalent queryset (a join on the
    user's wallet, select_related of user and organization, the ordering, the
    annotations) cost about 1.2 ms of CPU per call against 0.17 ms for this, which
    reads the same columns. config.rows turns the row back into models as the ORM
    would."""
    db = connections[DEFAULT_DB_ALIAS]
    extras, params = [], []
    for name, value in annotate.items():
        sql, value_params = value.sql_against('o."id"', db)
        extras.append(f", {sql} AS {db.ops.quote_name(name)}")
        params.extend(value_params)
    users, orgs = rows.columns(User, "u"), rows.columns(Organization, "o")
    with db.cursor() as cursor:
        cursor.execute(
            _WALLET_OWNER_SQL.format(users=users.sql, orgs=orgs.sql, extras="".join(extras)),
            [*params, Role.OWNER, address],
        )
        row = cursor.fetchone()
    if row is None:
        return None, {}
    user = users.instance(row[: len(users)], db)
    org_row = row[len(users) : len(users) + len(orgs)]
    if org_row[0] is None:  # the organization's id: the wallet owns none
        return (user, None), {}
    computed = row[len(users) + len(orgs) :]
    values = {
        name: rows.read(value.output_field, raw, db)
        for (name, value), raw in zip(annotate.items(), computed, strict=True)
    }
    return (user, orgs.instance(org_row, db)), values


# The user by wallet, and the organization of its oldest ownership if any: the
# join's subquery picks it (a user may own several; the first one stays its own).
_WALLET_OWNER_SQL = """
    SELECT {users}, {orgs}{extras}
    FROM "accounts_user" u
    LEFT JOIN "accounts_organization" o ON o."id" = (
        SELECT m."organization_id" FROM "accounts_membership" m
        WHERE m."user_id" = u."id" AND m."role" = %s
        ORDER BY m."created_at", m."id" LIMIT 1)
    WHERE u."wallet_address" = %s
"""


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
