"""Fixtures of the local chain, for tests/payments/ and the browser top-up test
(loaded for the whole suite by tests/conftest.py's pytest_plugins)."""

import pytest

from tests.payments.chain import start_chain, stop_chain


@pytest.fixture(scope="session")
def chain():
    """One local chain for the session; every test makes its own accounts on it."""
    started = start_chain()
    yield started
    stop_chain(started)


@pytest.fixture
def paying(chain, settings):
    """Settings pointing the service at the local chain."""
    for name, value in chain.paying_settings().items():
        setattr(settings, name, value)
    return chain


@pytest.fixture
def payer(chain):
    return chain.funded_account()
