"""Fixtures shared by the wallet tests (plain helpers are in tests/wallet/helpers.py)."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.helpers import CLOSED_PORT_REDIS
from tests.wallet.helpers import new_wallet


@pytest.fixture
def wallet():
    """A new wallet (a real secp256k1 key), never seen by the server."""
    return new_wallet()


@pytest.fixture
def browser():
    """A client that enforces CSRF like a browser session does."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def redis_down():
    """The cache is unreachable for the whole test."""
    with override_settings(CACHES=CLOSED_PORT_REDIS):
        yield
