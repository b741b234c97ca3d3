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


def flush_usage() -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("flush_usage", stdout=out)
    return out.getvalue()


def test_flush_usage_moves_a_quiet_keys_last_requests(api, make_key):
    key, full_key = make_key()
    idle, _ = make_key(name="never used")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {full_key}"}
    for _ in range(5):
        assert api.get("/api/v1/dashboard", **auth).status_code == 200
    assert KeyUsageDay.objects.get().requests == 1  # the minute's one write

    # Within the minute the request's guard holds the key: the sweep leaves it.
    assert flush_usage() == "Moved 0 requests of 0 keys into the usage table.\n"
    assert KeyUsageDay.objects.get().requests == 1

    cache.delete(keycache.used_key(key.digest))  # the minute is over; no request comes
    assert flush_usage() == "Moved 4 requests of 1 key into the usage table.\n"
    row = KeyUsageDay.objects.get()
    assert (row.key_id, row.day, row.requests) == (key.pk, timezone.now().date(), 5)

    cache.delete(keycache.used_key(key.digest))
    assert flush_usage() == "Moved 0 requests of 0 keys into the usage table.\n"
    assert KeyUsageDay.objects.get().requests == 5
    assert not KeyUsageDay.objects.filter(key_id=idle.pk).exists()


def test_flush_usage_counts_a_regenerated_keys_old_secret_and_skips_old_keys(api, make_key):
    from datetime import timedelta

    from apikeys.models import APIKey
    from apikeys.services import apikey_regenerate

    key, old_secret = make_key()
    assert (
        api.get("/api/v1/dashboard", HTTP_AUTHORIZATION=f"Bearer {old_secret}").status_code == 200
    )
    key, new_secret = apikey_regenerate(key=key, grace_period_seconds=3600)
    for secret in (old_secret, old_secret, new_secret):
        assert (
            api.get("/api/v1/dashboard", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
        )
    stale, stale_secret = make_key(name="stale")
    assert (
        api.get("/api/v1/dashboard", HTTP_AUTHORIZATION=f"Bearer {stale_secret}").status_code == 200
    )
    cache.incr(keycache.usage_key(stale.digest))  # a request not yet moved...
    APIKey.objects.filter(pk=stale.pk).update(  # ...by a key last used over a day ago
        last_used_at=timezone.now() - timedelta(seconds=keycache.USAGE_KEEP_SECONDS + 60)
    )
    for digest in (key.digest, key.previous_digest, stale.digest):
        cache.delete(keycache.used_key(digest))

    # The new secret's first request moved itself (its guard was free); the old
    # secret's two since the regeneration wait, as does the stale key's one.
    assert flush_usage() == "Moved 2 requests of 1 key into the usage table.\n"
    counts = dict(KeyUsageDay.objects.values_list("key_id", "requests"))
    assert counts == {key.pk: 4, stale.pk: 1}
