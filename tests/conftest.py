"""Test set-up shared by every app.

With DATABASE_URL and REDIS_URL set the suite runs on PostgreSQL and Redis,
including the `concurrency`, `postgresql` and `faults` tests; an unreachable
service stops the run with an error (it never turns into skips). Without them
those tests are deselected (and the run says so): SQLite and the local-memory
cache cannot show real concurrency, PostgreSQL's triggers or a failing
PostgreSQL. The `faults` tests start their own PostgreSQL, Redis and gunicorn.

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
# Markers of tests that run only in the PostgreSQL + Redis pass.
SERVICE_MARKERS = ("concurrency", "browser", "postgresql", "faults")

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
    "postgresql": "they need PostgreSQL (its triggers); run them with DATABASE_URL and "
    "REDIS_URL set",
    "faults": "they start their own PostgreSQL, Redis and gunicorn, in the pass with "
    "DATABASE_URL and REDIS_URL set (docs/reliability.md)",
    "docs_run": "the docs run against their own `make run` server (SQLite), so once, "
    "in the pass without DATABASE_URL and REDIS_URL",
}


def pytest_collection_modifyitems(config, items):
    markers = ("docs_run",) if SERVICES else SERVICE_MARKERS
    kept, dropped, counts = [], [], {}
    for item in items:
        marker = next((name for name in markers if item.get_closest_marker(name)), None)
        if marker is None:
            kept.append(item)
        else:
            dropped.append(item)
            counts[marker] = counts.get(marker, 0) + 1
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        config._gatehouse_deselected = counts


def pytest_terminal_summary(terminalreporter, config):
    for marker, dropped in getattr(config, "_gatehouse_deselected", {}).items():
        terminalreporter.write_line(
            f"{dropped} tests marked `{marker}` were deselected: {DESELECTED_BECAUSE[marker]}."
        )


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
def operator(db, client):
    """A superuser, signed in on the test `client`: the operator in the admin.

    (Not pytest-django's `admin_user`/`admin_client`, whose names this must not shadow.)"""
    from accounts.models import User

    op = User.objects.create_superuser(username="op", password="pw-op-long")
    client.force_login(op)
    return op


@pytest.fixture
def operator_client(client, operator):
    """The test client, signed in as the operator."""
    return client


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


@pytest.fixture
def other_org(db):
    from accounts.services import organization_create

    return organization_create(name="Other", slug="other")


def _org_person(org, username: str, role: str):
    from accounts.models import User
    from accounts.services import membership_add

    person = User.objects.create_user(
        username=username, email=f"{username}@example.com", password="correct horse battery"
    )
    membership_add(user=person, organization=org, role=role)
    return person


@pytest.fixture
def member(db, org):
    """Bob, a plain member of the `org` fixture's organization."""
    from accounts.models import Role

    return _org_person(org, "bob", Role.MEMBER)


@pytest.fixture
def org_admin(db, org):
    """Carol, an admin of the `org` fixture's organization (not pytest-django's
    `admin_user`, a superuser, whose name this must not shadow)."""
    from accounts.models import Role

    return _org_person(org, "carol", Role.ADMIN)


@pytest.fixture
def wallet():
    """A new wallet (a real secp256k1 key), never seen by the server."""
    from eth_account import Account

    return Account.create()


@pytest.fixture
def fund(db):
    """Grant credits through the ledger service: fund(org, micros)."""
    from billing.models import EntryKind
    from billing.services import credits_grant

    def grant(organization, micros):
        return credits_grant(
            organization=organization, amount_micros=micros, kind=EntryKind.TOPUP
        ).entry

    return grant
