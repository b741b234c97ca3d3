"""Item 1: Redis SIGKILLed under load, then restarted (docs/reliability.md).

While it is down, API keys keep working from the database (rate limits fail
open, logged), and everything that needs one-time state (SIWE nonces, wallet
signatures) answers 503 in the envelope; nothing is a 500 or hangs. When it is
back, everything works again without restarting gunicorn, and a signature
accepted before the kill is still refused after it.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.traffic import (
    Load,
    bearer,
    between,
    personal_sign,
    request,
    siwe_message,
    tally,
    wallet,
    wallet_headers,
)

pytestmark = pytest.mark.faults

# Longest answer allowed while Redis is down (its client timeouts are 1 s; a
# refused connection fails at once). Generous for a busy CI machine.
OUTAGE_BOUND_SECONDS = 5.0
ECHO_PRICE_MICROS = 1_000
UNAVAILABLE = "SERVICE_UNAVAILABLE"


def test_redis_killed_mid_load_then_restarted(stack):
    seeded = stack.seed(
        {
            "orgs": [{"slug": "acme", "credits_micros": 100_000_000}],
            "keys": [
                {"name": "main", "org": "acme"},
                {"name": "limited", "org": "acme", "rate_limit": 3},
            ],
        }
    )
    key = seeded["keys"]["main"]["key"]
    limited = seeded["keys"]["limited"]["key"]
    stack.gunicorn(workers=2)
    port = stack.port
    signer = wallet()

    def key_dashboard():
        return request(port, "GET", "/api/v1/dashboard", kind="key", headers=bearer(key))

    def key_echo():
        return request(
            port, "POST", "/api/v1/echo", kind="echo", headers=bearer(key), body={"message": "x"}
        )

    def wallet_dashboard():
        headers = wallet_headers(signer, "GET", "/api/v1/dashboard")
        return request(port, "GET", "/api/v1/dashboard", kind="wallet", headers=headers)

    def siwe_sign_in():
        nonce = request(port, "GET", "/api/auth/siwe/nonce", kind="nonce")
        if nonce.status != 200:
            return nonce
        text = siwe_message(signer, port=port, nonce=nonce.body["nonce"])
        body = {"message": text, "signature": personal_sign(signer, text)}
        return [nonce, request(port, "POST", "/api/auth/siwe/verify", kind="siwe", body=body)]

    # Before: the wallet's first signed request creates its account; its signature
    # will be replayed after the outage. The limited key uses up its minute.
    accepted = wallet_headers(signer, "GET", "/api/v1/dashboard")
    assert request(port, "GET", "/api/v1/dashboard", headers=accepted).status == 200
    limited_before = [
        request(port, "GET", "/api/v1/dashboard", headers=bearer(limited)).status for _ in range(4)
    ]
    assert limited_before == [200, 200, 200, 429]

    with Load([key_dashboard, key_echo, wallet_dashboard, siwe_sign_in], threads=3) as load:
        time.sleep(3)
        killed_at = time.monotonic()
        stack.redis.kill()
        down_at = time.monotonic()
        time.sleep(4)
        # Over its limit, yet let through: counters are unavailable, RATE_LIMIT_FAIL_OPEN.
        limited_during = request(port, "GET", "/api/v1/dashboard", headers=bearer(limited))
        restart_at = time.monotonic()
        stack.redis.start()
        up_at = time.monotonic()
        time.sleep(5)
    answers = load.answers

    before = between(answers, 0, killed_at)
    during = between(answers, down_at, restart_at)
    after = between(answers, up_at + 1.0, float("inf"))  # 1 s for the pools to reconnect
    summary = {"before": tally(before), "during": tally(during), "after": tally(after)}

    # Nothing anywhere is a 500 or a dropped connection.
    assert not [a for a in answers if a.status is None or (a.status >= 500 and a.status != 503)], (
        summary
    )
    # Before and after: everything answers 200.
    for phase in (before, after):
        assert phase and {a.status for a in phase} == {200}, summary
    # During: keys (and metering) work from the database; one-time state is 503.
    # (A SIWE verify only happens during the outage when its nonce came just before.)
    expected = {"key": {200}, "echo": {200}, "wallet": {503}, "nonce": {503}, "siwe": {503}}
    seen: dict[str, set] = {}
    for a in during:
        seen.setdefault(a.kind, set()).add(a.status)
        if a.status == 503:
            assert a.code == UNAVAILABLE, a.body
    assert set(seen) >= {"key", "echo", "wallet", "nonce"}, summary
    assert all(seen[kind] == expected[kind] for kind in seen), summary
    assert max(a.seconds for a in during) <= OUTAGE_BOUND_SECONDS, summary
    assert limited_during.status == 200
    assert "Rate-limit counter unavailable; letting the request through" in stack.logs()

    # After: the signature accepted before the kill is still a replay (the
    # append-only file kept its marker); a fresh one passes.
    replay = request(port, "GET", "/api/v1/dashboard", headers=accepted)
    assert (replay.status, replay.code) == (401, "UNAUTHORIZED")
    assert wallet_dashboard().status == 200

    # Every metered 200 was charged exactly once, and nothing else was.
    echo_ok = sum(1 for a in answers if a.kind == "echo" and a.status == 200)
    org = seeded["orgs"]["acme"]
    usage = stack.sql(
        "SELECT count(*), coalesce(sum(amount_micros), 0) FROM billing_ledgerentry"
        " WHERE organization_id = %s AND kind = 'usage'",
        [org],
    )[0]
    assert usage == (echo_ok, -echo_ok * ECHO_PRICE_MICROS)
    balance = stack.sql(
        "SELECT balance_micros FROM billing_creditaccount WHERE organization_id = %s", [org]
    )[0][0]
    assert balance == 100_000_000 - echo_ok * ECHO_PRICE_MICROS
    assert stack.check_ledger().returncode == 0
