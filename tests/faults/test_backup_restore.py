"""Item 6: pg_dump of a populated database, restored into a fresh one, a server
pointed at it (docs/operations.md): every key still authenticates, revoked and
replaced secrets stay refused, balances and ledger are equal, check_ledger
passes, and the ledger's triggers came along."""

from __future__ import annotations

import psycopg
import pytest
import redis

from tests.faults.services import free_port, manage
from tests.faults.traffic import (
    bearer,
    personal_sign,
    request,
    siwe_message,
    wallet,
    wallet_headers,
)

pytestmark = pytest.mark.faults

LEDGER = (
    "SELECT organization_id::text, kind, amount_micros, balance_after_micros, reference"
    " FROM billing_ledgerentry ORDER BY id"
)
BALANCES = (
    "SELECT organization_id::text, balance_micros FROM billing_creditaccount"
    " ORDER BY organization_id"
)
KEYS = "SELECT id::text, digest, hint, revoked_at FROM apikeys_apikey ORDER BY id"


def test_dump_restore_and_serve(stack):
    seeded = stack.seed(
        {
            "orgs": [{"slug": "acme", "credits_micros": 50_000_000}],
            "keys": [
                {"name": "admin", "org": "acme"},
                {"name": "rotated", "org": "acme"},
                {"name": "revoked", "org": "acme"},
                {"name": "sandbox", "org": "acme", "environment": "test"},
            ],
        }
    )
    keys = {name: item["key"] for name, item in seeded["keys"].items()}
    ids = {name: item["id"] for name, item in seeded["keys"].items()}
    stack.gunicorn(workers=2)
    port = stack.port
    admin = bearer(keys["admin"])

    # Populate through the API: charges, a rotation, a revocation, wallet accounts.
    for _ in range(5):
        echo = request(port, "POST", "/api/v1/echo", headers=admin, body={"message": "m"})
        assert echo.status == 200
    rotated = request(
        port, "POST", f"/api/v1/api-keys/{ids['rotated']}/regenerate", headers=admin, body={}
    )
    assert rotated.status == 200
    keys["rotated-new"] = rotated.body["key"]
    assert (
        request(port, "DELETE", f"/api/v1/api-keys/{ids['revoked']}", headers=admin).status == 200
    )
    signer = wallet()
    nonce = request(port, "GET", "/api/auth/siwe/nonce").body["nonce"]
    text = siwe_message(signer, port=port, nonce=nonce)
    signed_in = request(
        port, "POST", "/api/auth/siwe/verify",
        body={"message": text, "signature": personal_sign(signer, text)},
    )  # fmt: skip
    assert signed_in.status == 200
    keys["siwe"] = signed_in.body["apiKey"]
    signed = request(
        port, "GET", "/api/v1/dashboard", headers=wallet_headers(signer, "GET", "/api/v1/dashboard")
    )
    assert signed.status == 200

    # Back up, restore into an empty database, and compare.
    dump = stack.pg.dump(stack.db)
    restored = f"{stack.db}_restored"
    stack.pg.create_db(restored)
    stack.pg.restore(dump, restored)
    for query in (LEDGER, BALANCES, KEYS):
        original = stack.sql(query)
        assert original and stack.pg.sql(query, db=restored) == original

    # A server on the restored database with an empty cache (another Redis index):
    # every answer below comes from the restored rows.
    restored_url = stack.pg.url(restored)
    cold_redis = stack.redis.url((stack.redis_db + 8) % 16)
    redis.Redis.from_url(cold_redis).flushdb()
    assert manage(stack.env(DATABASE_URL=restored_url), "check_ledger", check=False).returncode == 0
    other = free_port()
    stack.gunicorn(workers=2, port=other, DATABASE_URL=restored_url, REDIS_URL=cold_redis)

    def whoami(key):
        answer = request(other, "GET", "/api/v1/dashboard", headers=bearer(key))
        return answer.status, answer.body

    for name in ("admin", "rotated-new", "sandbox", "siwe"):
        status, body = whoami(keys[name])
        assert status == 200, (name, body)
    assert whoami(keys["revoked"]) == (
        401,
        {"error": {"code": "UNAUTHORIZED", "message": "API key has been revoked"}},
    )
    assert whoami(keys["rotated"])[0] == 401  # the replaced secret stays dead
    # The ledger's triggers came with the dump, and money still moves correctly.
    with pytest.raises(psycopg.errors.RestrictViolation):
        stack.pg.sql("DELETE FROM billing_ledgerentry", db=restored)
    echo = request(other, "POST", "/api/v1/echo", headers=admin, body={"message": "m"})
    assert (echo.status, echo.body["charged"]) == (200, "0.001000")
    balance = stack.pg.sql(
        "SELECT balance_micros FROM billing_creditaccount WHERE organization_id = %s",
        [seeded["orgs"]["acme"]],
        db=restored,
    )[0][0]
    assert balance == 50_000_000 - 6 * 1_000
    assert manage(stack.env(DATABASE_URL=restored_url), "check_ledger", check=False).returncode == 0
