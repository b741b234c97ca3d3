"""Create, regenerate, use and revoke keys every way there is, then look for any full
key in every column of every table, in the logs and in the cache."""

import logging
import pickle
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from apikeys import keyformat
from apikeys.services import apikey_create, apikey_regenerate, apikey_revoke
from config.cache import redis_client

pytestmark = pytest.mark.django_db(transaction=True)


def all_database_text() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                chunks.extend(
                    bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v)
                    for v in row
                )
    return "\n".join(chunks)


def all_cache_bytes() -> bytes:
    client = redis_client()
    if client is not None:
        return b"\n".join(
            name + b"=" + (client.get(name) or b"")
            for name in client.scan_iter(match="*")
            if client.type(name) == b"string"
        )
    return b"\n".join(
        name.encode() + b"=" + pickle.dumps(value) for name, value in cache._cache.items()
    )


def test_no_full_key_in_any_table_log_or_cache(org, user, caplog, settings):
    caplog.set_level(logging.DEBUG)
    settings.AUTH_FAILURE_RATE = "1000/m"
    keys = []

    # Through the service, the API (session and key) and the command.
    manager, manager_full = apikey_create(organization=org, created_by=user, name="m")
    keys.append(manager_full)
    session = APIClient()
    session.force_login(user)
    r = session.post("/api/v1/api-keys", {"name": "via session"}, format="json")
    keys.append(r.json()["key"])
    by_key = APIClient()
    by_key.credentials(HTTP_AUTHORIZATION=f"Bearer {manager_full}")
    r = by_key.post("/api/v1/api-keys", {"name": "via key", "environment": "test"}, format="json")
    keys.append(r.json()["key"])
    child_id = r.json()["apiKey"]["id"]
    out = StringIO()
    call_command("create_api_key", "--org", "acme", "--name", "cmd", stdout=out)
    keys.append(out.getvalue().splitlines()[-1])

    # Regenerate (with and without grace), over HTTP and directly.
    r = by_key.post(
        f"/api/v1/api-keys/{child_id}/regenerate", {"gracePeriodSeconds": 60}, format="json"
    )
    keys.append(r.json()["key"])
    rotating, rotating_full = apikey_create(organization=org, name="rotating")
    keys.append(rotating_full)
    keys.append(apikey_regenerate(key=rotating)[1])

    # Use every key, every header, from two addresses; fail on purpose too.
    for full in keys:
        for headers in ({"X-API-Key": full}, {"Authorization": f"Bearer {full}"}):
            for address in ("127.0.0.1", "10.1.2.3"):
                APIClient().get("/api/v1/dashboard", headers=headers, REMOTE_ADDR=address)
        APIClient().get(f"/api/v1/dashboard?api_key={full}")
        APIClient().get("/api/v1/dashboard", headers={"X-API-Key": full + "x"})
    unknown = keyformat.generate()
    keys.append(unknown)
    APIClient().get("/api/v1/dashboard", headers={"X-API-Key": unknown})

    # Revoke, then use the revoked key.
    apikey_revoke(key=manager)
    APIClient().get("/api/v1/dashboard", headers={"X-API-Key": manager_full})

    assert len(set(keys)) == len(keys) == 8
    database, logs, cached = all_database_text(), caplog.text, all_cache_bytes()
    assert "Unauthorized access attempt" in logs
    for full in keys:
        assert full not in database
        assert full not in logs
        assert full.encode() not in cached
        # Not even the secret part without the prefix.
        assert full[8:-6] not in database and full[8:-6] not in logs
