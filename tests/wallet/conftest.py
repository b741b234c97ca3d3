"""Fixtures shared by the wallet tests (plain helpers are in tests/wallet/helpers.py)."""

from urllib.parse import urlsplit

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.helpers import CLOSED_PORT_REDIS


@pytest.fixture
def browser():
    """A client that enforces CSRF like a browser session does."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def redis_down():
    """The cache is unreachable for the whole test."""
    with override_settings(CACHES=CLOSED_PORT_REDIS):
        yield


@pytest.fixture
def server(live_server, settings, transactional_db):
    """The live server, with APP_URL pointing at it (SIWE domain and uri follow)."""
    url = live_server.url
    settings.APP_URL = settings.APP_ORIGIN = url
    settings.APP_DOMAIN = urlsplit(url).netloc
    return url
