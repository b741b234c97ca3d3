"""A signed request of a known wallet: one Redis round trip for the replay claim,
the cached principal and the rate count, each request counted exactly once
(issue 13 item 5). Real PostgreSQL and Redis (the `concurrency` pass)."""

from __future__ import annotations

import time

import pytest
from redis.connection import Connection
from rest_framework.test import APIClient

from config import ratelimit
from tests.helpers import fresh_window
from tests.wallet.helpers import new_wallet, wallet_headers

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

PATH = "/api/v1/dashboard"


def test_a_known_wallet_costs_one_round_trip_and_counts_once(monkeypatch):
    wallet = new_wallet()
    fresh_window(f"wallet:{wallet.address}")
    sent = []
    original = Connection.send_packed_command

    def counted(self, *args, **kwargs):
        sent.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "send_packed_command", counted)
    api = APIClient()
    start = int(time.time() * 1000)
    remaining, trips = [], []
    for i in range(4):
        before = len(sent)
        r = api.get(PATH, headers=wallet_headers(wallet, path=PATH, timestamp_ms=start + i))
        assert r.status_code == 200, r.json()
        trips.append(len(sent) - before)
        remaining.append(int(r["X-RateLimit-Remaining"]))
    limit = int(r["X-RateLimit-Limit"])
    # The first request makes the account (and caches its principal): the count
    # is then the throttle's own round trip.
    assert trips[1:] == [1, 1, 1]
    assert remaining == [limit - 1, limit - 2, limit - 3, limit - 4]
    state = ratelimit.peek(f"wallet:{wallet.address}", limit)
    assert state.remaining == limit - 4


def test_a_replayed_signature_is_refused_and_not_counted():
    wallet = new_wallet()
    fresh_window(f"wallet:{wallet.address}")
    api = APIClient()
    headers = wallet_headers(wallet, path=PATH)
    assert api.get(PATH, headers=headers).status_code == 200
    second = wallet_headers(wallet, path=PATH, timestamp_ms=int(time.time() * 1000) + 1)
    r = api.get(PATH, headers=second)
    limit = int(r["X-RateLimit-Limit"])
    assert int(r["X-RateLimit-Remaining"]) == limit - 2
    assert api.get(PATH, headers=second).status_code == 401
    assert ratelimit.peek(f"wallet:{wallet.address}", limit).remaining == limit - 2
