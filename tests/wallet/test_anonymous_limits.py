"""ANONYMOUS_RATE on the three anonymous wallet routes: per client address, one
bucket per route group, 429 in the envelope with Retry-After past it."""

from __future__ import annotations

import pytest

from tests.helpers import fresh_window, rate_limited
from tests.wallet.helpers import new_wallet, sign, siwe_text

pytestmark = pytest.mark.django_db


THREE_PER_MINUTE = (
    "Rate limit exceeded: 3 requests per 60 s from this address. "
    "Expected available in {wait} {seconds}."
)


def _limited(response) -> None:
    rate_limited(response, message=THREE_PER_MINUTE, limit=3)


def test_nonce_route_is_limited_per_address(api, settings):
    settings.ANONYMOUS_RATE = "3/m"
    fresh_window("anon:siwe-nonce:127.0.0.1")
    for remaining in ("2", "1", "0"):
        r = api.get("/api/auth/siwe/nonce")
        assert r.status_code == 200
        assert r["X-RateLimit-Remaining"] == remaining
    _limited(api.get("/api/auth/siwe/nonce"))
    # Another address has its own bucket.
    assert api.get("/api/auth/siwe/nonce", REMOTE_ADDR="10.9.8.7").status_code == 200


def test_route_groups_do_not_share_a_bucket(api, settings):
    settings.ANONYMOUS_RATE = "3/m"
    fresh_window("anon:siwe-nonce:127.0.0.1", "anon:siwe-verify:127.0.0.1")
    for _ in range(3):
        api.get("/api/auth/siwe/nonce")
    _limited(api.get("/api/auth/siwe/nonce"))
    # verify still has its own three attempts (they fail: no such nonce).
    account = new_wallet()
    text = siwe_text(account, nonce="neverIssued123")
    body = {"message": text, "signature": sign(account, text)}
    for _ in range(3):
        assert api.post("/api/auth/siwe/verify", body, format="json").status_code == 401
    _limited(api.post("/api/auth/siwe/verify", body, format="json"))


def test_headless_creation_is_limited(api, settings):
    settings.ANONYMOUS_RATE = "3/m"
    fresh_window("anon:key-create-headless:127.0.0.1")
    account = new_wallet()
    text = siwe_text(account, nonce="clientNonce0001", chain_id=8453)
    body = {
        "address": account.address,
        "message": text,
        "signature": "0x" + "00" * 65,
        "name": "bot",
    }
    for _ in range(3):
        assert api.post("/api/v1/api-keys", body, format="json").status_code == 401
    _limited(api.post("/api/v1/api-keys", body, format="json"))
