"""Requests per key per day: counted in the hot path's cache round trip, written
to the per-day table at most once a minute per key (never a write per request)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apikeys import keycache
from apikeys.models import KeyUsageDay

pytestmark = pytest.mark.django_db


def test_requests_are_counted_in_batches(api, make_key):
    key, full_key = make_key()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {full_key}"}
    assert api.get("/api/v1/dashboard", **auth).status_code == 200  # the minute's one write
    assert KeyUsageDay.objects.get().requests == 1

    with CaptureQueriesContext(connection) as queries:
        for _ in range(4):
            assert api.get("/api/v1/dashboard", **auth).status_code == 200
    assert not [q for q in queries.captured_queries if "keyusageday" in q["sql"].lower()]
    assert KeyUsageDay.objects.get().requests == 1

    cache.delete(keycache.used_key(key.digest))  # the minute is over
    assert api.get("/api/v1/dashboard", **auth).status_code == 200
    row = KeyUsageDay.objects.get()
    assert (row.key_id, row.day, row.requests) == (key.pk, timezone.now().date(), 6)


def test_refused_requests_are_not_counted(api, make_key):
    from apikeys.services import apikey_revoke

    key, full_key = make_key()
    apikey_revoke(key=key)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {full_key}"}
    assert api.get("/api/v1/dashboard", **auth).status_code == 401
    assert KeyUsageDay.objects.count() == 0


def test_a_made_up_keys_counter_does_not_stay(api, make_key):
    from apikeys.services import apikey_revoke

    key, full_key = make_key()
    apikey_revoke(key=key)
    assert api.get("/api/v1/dashboard", HTTP_AUTHORIZATION=f"Bearer {full_key}").status_code == 401
    name = keycache.usage_key(key.digest)
    assert cache.get(name) == 1
    if hasattr(cache, "ttl"):  # django-redis shows the expiry; locmem keeps it to itself
        assert 0 < cache.ttl(name) <= keycache.USAGE_NEW_SECONDS
