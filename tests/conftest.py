"""Test set-up shared by every app.

With DATABASE_URL and REDIS_URL set the suite runs on PostgreSQL and Redis,
including the `concurrency` tests; an unreachable service stops the run with an
error (it never turns into skips). Without them the `concurrency` tests are
deselected (and the run says so): SQLite and the local-memory cache cannot show
real concurrency.

Which database and Redis the suite touches: pytest-django creates (and drops)
`test_<name>` for the DATABASE_URL's database `<name>` (an in-memory SQLite
without it); in REDIS_URL's database it writes and deletes only keys under a
prefix made for the run (tests/own_cache.py), never FLUSHDB.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.own_cache import TEST_CACHE_PREFIX, clear_own_keys

# The local chain's fixtures (chain, paying, payer): tests/payments/ and tests/browser/.
pytest_plugins = ["tests.payments.fixtures"]

SERVICES = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))

# Before anything uses the cache (pytest-django has loaded the settings already,
# so the environment variable would come too late): every key this run writes
# starts with its own prefix. Subprocesses the tests start inherit it.
settings.CACHES["default"]["KEY_PREFIX"] = TEST_CACHE_PREFIX
os.environ["CACHE_KEY_PREFIX"] = TEST_CACHE_PREFIX
# manage.py run by a test must not read the developer's .env (config.env.load_env_file).
os.environ["GATEHOUSE_ENV_FILE"] = ""


# Which tests a pass leaves out, and the reason `make test` prints for them.
DESELECTED_BECAUSE = {
    "concurrency": "they need PostgreSQL and Redis; run them with DATABASE_URL and "
    "REDIS_URL set (README, 'Two commands')",
    "browser": "they drive Chromium against a live server on PostgreSQL and Redis; run "
    "them with DATABASE_URL and REDIS_URL set",
    "docs_run": "the docs run against their own `make run` server (SQLite), so once, "
    "in the pass without DATABASE_URL and REDIS_URL",
}


def pytest_collection_modifyitems(config, items):
    # Without the services: the tests that need them; with them: the docs run.
    markers = ("docs_run",) if SERVICES else ("concurrency", "browser")
    kept, dropped = [], []
    for item in items:
        needs = any(item.get_closest_marker(name) for name in markers)
        (dropped if needs else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        config._gatehouse_deselected = (markers, len(dropped))


def pytest_terminal_summary(terminalreporter, config):
    markers, dropped = getattr(config, "_gatehouse_deselected", ((), 0))
    if dropped:
        names = " or ".join(f"`{m}`" for m in markers)
        reasons = "; ".join(DESELECTED_BECAUSE[m] for m in markers)
        terminalreporter.write_line(f"{dropped} tests marked {names} were deselected: {reasons}.")


def pytest_collection_finish(session):
    """GATEHOUSE_TEST_PAUSE_AFTER_COLLECT=N sleeps N seconds between collection and the
    first test: a run that passes with a pause longer than any tolerance (SIWE's 60 s
    clock skew) proves no test holds an instant computed at import or collection."""
    pause = float(os.environ.get("GATEHOUSE_TEST_PAUSE_AFTER_COLLECT") or 0)
    if pause > 0:
        import time

        time.sleep(pause)


def pytest_sessionstart(session):
    if not SERVICES:
        return
    import psycopg
    import redis

    try:
        # The server, not the named database: pytest-django creates test_<name> itself.
        with psycopg.connect(
            os.environ["DATABASE_URL"], dbname="postgres", connect_timeout=3
        ) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        pytest.exit(f"DATABASE_URL is set but PostgreSQL is not answering: {exc}", returncode=3)
    try:
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
    except Exception as exc:
        pytest.exit(f"REDIS_URL is set but Redis is not answering: {exc}", returncode=3)


@pytest.fixture(scope="session", autouse=True)
def _test_settings():
    """Pages render with plain static names in tests: production's hashed names need
    the manifest that `collectstatic` writes (the browser tests' server has one).
    Passwords are hashed with a fast hasher (Django's advice for tests): the
    sign-in throttle's tests try dozens of them."""
    from django.conf import settings
    from django.test import override_settings

    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(
        STORAGES={**settings.STORAGES, "staticfiles": plain},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    ):
        yield


@pytest.fixture(autouse=True)
def _clear_cache():
    """Nonces, rate counters and cached keys never leak from one test into the next.

    Only this run's keys: see tests/own_cache.py."""
    assert cache.key_prefix == TEST_CACHE_PREFIX, "the cache was used before its prefix was set"
    clear_own_keys()
    yield
    clear_own_keys()


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def org(db):
    from accounts.services import organization_create

    return organization_create(name="Acme", slug="acme")


@pytest.fixture
def user(db, org):
    from accounts.models import Role, User
    from accounts.services import membership_add

    u = User.objects.create_user(username="alice", password="correct horse battery")
    membership_add(user=u, organization=org, role=Role.OWNER)
    return u


@pytest.fixture
def make_key(db, org, user):
    """Create a key through the service; returns (row, full key)."""
    from apikeys.services import apikey_create

    def make(**kwargs):
        kwargs.setdefault("organization", org)
        kwargs.setdefault("created_by", user)
        kwargs.setdefault("name", "test key")
        return apikey_create(**kwargs)

    return make
