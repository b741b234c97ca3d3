"""Test set-up shared by every app.

With DATABASE_URL and REDIS_URL set the suite runs on PostgreSQL and Redis,
including the `concurrency` tests; an unreachable service stops the run with an
error (it never turns into skips). Without them the `concurrency` tests are
deselected: SQLite and the local-memory cache cannot show real concurrency.
"""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache

SERVICES = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config, items):
    if SERVICES:
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("concurrency") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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


@pytest.fixture(autouse=True)
def _clear_cache():
    """Nonces, rate counters and cached keys never leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()


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
