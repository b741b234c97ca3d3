"""What each membership role may do (SPEC §1): the one place that decides.

`owner` and `admin` manage every key of the organization and see billing; a
`member` sees the overview and the key list, and creates, regenerates and
revokes only the keys they created. Only owners change roles. Pages and
endpoints ask these functions; none of them compares roles itself.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Role

_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


def may_manage_key(*, role: str | None, user_id: Any, key_created_by_id: Any) -> bool:
    """May a member with `role` regenerate or revoke a key created by `key_created_by_id`?

    Owners and admins: any key of their organization. Members: only keys they
    created themselves (a key made by an operator belongs to no user, so no
    member may touch it). No role (not a member): nothing.
    """
    if role in _MANAGERS:
        return True
    if role == Role.MEMBER:
        return (
            user_id is not None
            and key_created_by_id is not None
            and (str(user_id) == str(key_created_by_id))
        )
    return False


# Permissions a member's key may not hold: with them, the key could manage the
# organization's other keys or read its billing, which the member cannot.
MANAGER_ONLY_PERMISSIONS = frozenset({"keys", "billing"})


def may_grant(*, role: str | None, permissions: list[str] | tuple[str, ...]) -> bool:
    """May a member with `role` make (or regenerate) a key with these permissions?

    No credential makes a key stronger than itself: a member's key names its
    permissions (an empty list would mean all of them) and holds neither `keys`
    nor `billing`. Owners and admins may grant any (`verify` is refused to all by
    the key services)."""
    if role in _MANAGERS:
        return True
    if role == Role.MEMBER:
        return bool(permissions) and not (set(permissions) & MANAGER_ONLY_PERMISSIONS)
    return False


def may_create_key(role: str | None) -> bool:
    """Every member of an organization may create keys (they then own them)."""
    return role in Role.values


def may_see_billing(role: str | None) -> bool:
    """The balance, the ledger and top-ups: owners and admins."""
    return role in _MANAGERS


def may_change_roles(role: str | None) -> bool:
    """Changing another member's role: owners only."""
    return role == Role.OWNER
