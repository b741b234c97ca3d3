"""The verify endpoint's warm call: one Redis round trip, no query, and the same
answers, counts and balances as the general path (issue 13 item 1).

Real PostgreSQL and Redis (marked `concurrency`: they run in that pass only),
transactions committed, so balances are published after commit as in production.
Round trips are counted at the Redis client's socket writes (one per command
batch: a pipeline or a script)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from redis.connection import Connection
from rest_framework.test import APIClient

from accounts.services import organization_create
from apikeys import keyformat
from apikeys.models import APIKey
from apikeys.services import apikey_create, apikey_revoke
from billing import balances, services
from billing.models import EntryKind, LedgerEntry
from config import cache as shared_cache
from config import ratelimit
from tests.billing.helpers import fresh_window, key_bucket
from tests.helpers import in_parallel

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

VERIFY = "/api/v1/keys/verify"


@pytest.fixture
def round_trips(monkeypatch):
    """Counts Redis command batches sent from here on: round_trips()."""
    sent = []
    original = Connection.send_packed_command

    def counted(self, *args, **kwargs):
        sent.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "send_packed_command", counted)
    return lambda: len(sent)


@pytest.fixture
def parties():
    gateway_org = organization_create(name="Gateway", slug="gateway")
    customer = organization_create(name="Customer", slug="customer")
    services.credits_grant(organization=customer, amount_micros=5_000_000, kind=EntryKind.TOPUP)
    _, gateway = apikey_create(
        organization=gateway_org, name="gateway", permissions=["verify"], rate_limit=100
    )
    row, key = apikey_create(organization=customer, name="customer", rate_limit=100)
    fresh_window(key_bucket(gateway), key_bucket(key))
    return gateway, row, key, customer


def verify(caller: str, body: dict):
    return APIClient().post(
        VERIFY, body, format="json", headers={"Authorization": f"Bearer {caller}"}
    )


def used(full_key: str, limit: int = 100) -> int:
    """Requests counted against the key in its current window."""
    return limit - ratelimit.peek(key_bucket(full_key), limit).remaining


def test_a_warm_call_is_one_round_trip_and_no_query(
    parties, round_trips, django_assert_num_queries
):
    gateway, row, key, _ = parties
    body = {"key": key, "permissions": ["chat:write"]}
    for _ in range(2):  # the first calls teach this process both records
        assert verify(gateway, body).json()["code"] == "VALID"
    before = round_trips()
    with django_assert_num_queries(0):
        r = verify(gateway, body)
    assert round_trips() - before == 1
    assert r.status_code == 200
    answer = r.json()
    assert (answer["valid"], answer["code"], answer["keyId"]) == (True, "VALID", str(row.id))
    assert answer["ratelimit"]["remaining"] == 100 - 3
    assert answer["credits"] == {"remaining": "5.000000"}
    assert (used(key), used(gateway)) == (3, 3)


def test_the_balance_follows_every_committed_movement(parties):
    gateway, _, key, customer = parties
    body = {"key": key}
    assert verify(gateway, body).json()["credits"] == {"remaining": "5.000000"}
    services.credits_debit(organization=customer, amount_micros=1_250_000)
    assert verify(gateway, body).json()["credits"] == {"remaining": "3.750000"}
    r = verify(gateway, {**body, "cost": "0.75"})
    assert r.json()["credits"] == {"remaining": "3.000000"}
    assert verify(gateway, body).json()["credits"] == {"remaining": "3.000000"}
    # A late publication of an older movement cannot put its balance back.
    first = LedgerEntry.objects.filter(organization=customer).order_by("id").first()
    balances.publish(customer.pk, first.balance_after_micros, first.pk)
    assert verify(gateway, body).json()["credits"] == {"remaining": "3.000000"}
    # Absent from the cache: read from the database, and cached again.
    cache.delete(balances.balance_key(customer.pk))
    assert verify(gateway, body).json()["credits"] == {"remaining": "3.000000"}
    assert services.balance_micros(organization=customer) == 3_000_000


def test_parallel_movements_leave_the_last_balance_cached(parties):
    gateway, _, key, customer = parties
    assert verify(gateway, {"key": key}).json()["code"] == "VALID"

    def debit(i):
        services.credits_debit(organization=customer, amount_micros=1_000 + i)

    in_parallel(20, debit)
    expected = 5_000_000 - sum(1_000 + i for i in range(20))
    assert services.balance_micros(organization=customer) == expected
    cached = balances.from_raw(
        shared_cache.redis_client().get(cache.make_key(balances.balance_key(customer.pk)))
    )
    assert cached == expected


def test_revocation_is_seen_on_the_warm_path_and_not_counted(parties):
    gateway, row, key, _ = parties
    for _ in range(2):
        assert verify(gateway, {"key": key}).json()["code"] == "VALID"
    apikey_revoke(key=APIKey.objects.get(pk=row.pk))
    r = verify(gateway, {"key": key})
    assert (r.status_code, r.json()["code"], r.json()["ratelimit"]) == (200, "REVOKED", None)
    assert used(key) == 2


def test_refused_checks_and_bad_bodies_do_not_count_the_key(parties):
    gateway, _, _, customer = parties
    _, key = apikey_create(organization=customer, name="chat only", permissions=["chat"])
    fresh_window(key_bucket(key))
    for _ in range(2):
        assert verify(gateway, {"key": key, "permissions": ["chat"]}).json()["code"] == "VALID"
    r = verify(gateway, {"key": key, "permissions": ["embeddings:read"]})
    assert r.json()["code"] == "INSUFFICIENT_PERMISSIONS"
    r = verify(gateway, {"key": key, "cost": "not money"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert used(key) == 2


def test_a_caller_without_verify_never_counts_the_checked_key(parties):
    gateway, _, key, customer = parties
    _, plain = apikey_create(organization=customer, name="no verify", permissions=["chat"])
    for _ in range(3):
        r = verify(plain, {"key": key})
        assert r.status_code == 403
    assert verify(gateway, {"key": key}).json()["ratelimit"]["remaining"] == 99
    assert used(key) == 1


def test_a_throttled_caller_never_counts_the_checked_key(parties):
    _, _, key, _ = parties
    gateway_org = organization_create(name="Small gateway", slug="small-gateway")
    _, gateway = apikey_create(
        organization=gateway_org, name="small", permissions=["verify"], rate_limit=2
    )
    fresh_window(key_bucket(gateway))
    assert [verify(gateway, {"key": key}).status_code for _ in range(4)] == [200, 200, 429, 429]
    assert used(key) == 2


def test_a_malformed_checked_key_is_not_found_without_io(parties, round_trips):
    gateway, _, _, _ = parties
    verify(gateway, {"key": "ek_live_nope"})
    before = round_trips()
    r = verify(gateway, {"key": keyformat.generate()[:-1] + "!"})
    assert r.json()["code"] == "NOT_FOUND"
    assert round_trips() - before == 1  # the caller's check only
