"""Fixtures of the dashboard's page tests: people in roles, signed in."""

from __future__ import annotations

import pytest

PASSWORD = "correct horse battery"


@pytest.fixture
def owner_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client
