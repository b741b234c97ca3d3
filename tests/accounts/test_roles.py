"""accounts.roles: the one table of what each role may do (SPEC §1)."""

from __future__ import annotations

import uuid

import pytest

from accounts.roles import (
    may_change_roles,
    may_create_key,
    may_grant,
    may_manage_key,
    may_see_billing,
)

ME, SOMEONE = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("role", "creator", "expected"),
    [
        ("owner", SOMEONE, True),
        ("owner", None, True),
        ("admin", SOMEONE, True),
        ("admin", None, True),
        ("member", ME, True),
        ("member", str(ME), True),
        ("member", SOMEONE, False),
        ("member", None, False),  # an operator's key belongs to no user
        (None, ME, False),
        ("", ME, False),
        ("superuser", ME, False),
    ],
)
def test_may_manage_key(role, creator, expected):
    assert may_manage_key(role=role, user_id=ME, key_created_by_id=creator) is expected


def test_a_member_without_an_id_manages_nothing():
    assert may_manage_key(role="member", user_id=None, key_created_by_id=None) is False


@pytest.mark.parametrize(
    ("role", "billing", "roles", "create"),
    [
        ("owner", True, True, True),
        ("admin", True, False, True),
        ("member", False, False, True),
        (None, False, False, False),
        ("guest", False, False, False),
    ],
)
def test_the_other_rules(role, billing, roles, create):
    assert may_see_billing(role) is billing
    assert may_change_roles(role) is roles
    assert may_create_key(role) is create


@pytest.mark.parametrize(
    ("role", "permissions", "expected"),
    [
        ("owner", [], True),
        ("admin", ["keys", "billing"], True),
        ("member", ["chat", "images:read"], True),
        ("member", [], False),  # every permission
        ("member", ["chat", "keys"], False),
        ("member", ["billing"], False),
        (None, ["chat"], False),
    ],
)
def test_may_grant(role, permissions, expected):
    assert may_grant(role=role, permissions=permissions) is expected
