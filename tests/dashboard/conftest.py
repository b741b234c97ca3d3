"""Fixtures of the dashboard's page tests: people in roles, signed in."""

from __future__ import annotations

import pytest

from accounts.models import Role, User
from accounts.services import membership_add, organization_create

PASSWORD = "correct horse battery"


@pytest.fixture
def owner_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def member(db, org):
    u = User.objects.create_user(username="bob", email="bob@example.com", password=PASSWORD)
    membership_add(user=u, organization=org, role=Role.MEMBER)
    return u


@pytest.fixture
def admin_user(db, org):
    u = User.objects.create_user(username="carol", password=PASSWORD)
    membership_add(user=u, organization=org, role=Role.ADMIN)
    return u


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def other_org(db):
    return organization_create(name="Other", slug="other")
