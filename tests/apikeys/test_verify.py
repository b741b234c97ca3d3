from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys import keyformat
from apikeys.models import APIKey
from apikeys.services import apikey_regenerate, apikey_revoke
from billing.models import EntryKind, LedgerEntry
from billing.services import balance_micros
from tests.helpers import expected_window_end, fresh_window, key_bucket

pytestmark = pytest.mark.django_db

NOT_FOUND = {
    "valid": False,
    "code": "NOT_FOUND",
    "keyId": None,
    "organizationId": None,
    "environment": None,
    "permissions": None,
    "expiresAt": None,
    "ratelimit": None,
    "credits": None,
}


@pytest.fixture
def gateway(make_key, other_org):
    """The caller: another organization's key holding `verify`."""
    _, full = make_key(organization=other_org, permissions=["verify"], name="gateway")
    return full


@pytest.fixture
def verify(api, gateway):
    def call(body, caller=None):
        return api.post(
            "/api/v1/keys/verify",
            body,
            format="json",
            headers={"Authorization": f"Bearer {caller or gateway}"},
        )

    return call


def usage(org):
    return list(LedgerEntry.objects.filter(organization=org, kind=EntryKind.USAGE))


def iso(dt):
    return dt.isoformat().replace("+00:00", "Z")


def test_valid_key_without_cost(verify, make_key, fund, org):
    fund(org, 5_000_000)
    key, full = make_key(permissions=["chat", "embeddings:read"], rate_limit=10)
    fresh_window(key_bucket(full))
    r = verify({"key": full})
    assert r.status_code == 200
    body = r.json()
    assert body["ratelimit"].pop("reset") == expected_window_end(key_bucket(full))
    assert body == {
        "valid": True,
        "code": "VALID",
        "keyId": str(key.id),
        "organizationId": str(org.id),
        "environment": "live",
        "permissions": ["chat", "embeddings:read"],
        "expiresAt": iso(key.expires_at),
        "ratelimit": {"limit": 10, "remaining": 9},
        "credits": {"remaining": "5.000000"},
    }
    assert usage(org) == []


def test_valid_key_with_cost_is_debited(verify, make_key, fund, org, gateway):
    fund(org, 5_000_000)
    key, full = make_key()
    r = verify({"key": full, "cost": "0.002", "permissions": ["chat:write"]})
    assert r.status_code == 200
    assert (r.json()["code"], r.json()["credits"]) == ("VALID", {"remaining": "4.998000"})
    [row] = usage(org)
    assert (row.amount_micros, row.balance_after_micros) == (-2000, 4_998_000)
    assert row.metadata["keyId"] == str(key.id)
    r = verify({"key": full, "cost": 1})
    assert r.json()["credits"] == {"remaining": "3.998000"}


def test_unknown_and_malformed_keys_are_not_found(verify, make_key):
    _, full = make_key()
    forged = full[:-7] + ("A" if full[-7] != "A" else "B") + full[-6:]
    for candidate in ["nope", forged, "ek_live_" + "0" * 40, full + "x"]:
        r = verify({"key": candidate, "cost": "1"})
        assert (r.status_code, r.json()) == (200, NOT_FOUND)


def test_expired_and_revoked(verify, make_key, fund, org):
    fund(org, 1_000_000)
    expired, expired_full = make_key(name="old")
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_full = make_key(name="revoked")
    apikey_revoke(key=revoked)
    r = verify({"key": expired_full, "cost": "0.5"}).json()
    assert (r["valid"], r["code"], r["keyId"]) == (False, "EXPIRED", str(expired.id))
    assert (r["ratelimit"], r["credits"]) == (None, None)
    r = verify({"key": revoked_full, "cost": "0.5"}).json()
    assert (r["valid"], r["code"], r["keyId"]) == (False, "REVOKED", str(revoked.id))
    assert balance_micros(organization=org) == 1_000_000


def test_regenerated_secret_is_not_found(verify, make_key):
    key, old = make_key()
    _, new = apikey_regenerate(key=key)
    assert verify({"key": old}).json()["code"] == "NOT_FOUND"
    assert verify({"key": new}).json()["code"] == "VALID"


def test_allow_list_uses_the_ip_field(verify, make_key):
    _, full = make_key(allowed_ips=["10.0.0.0/8", "2001:db8::1"])
    assert verify({"key": full, "ip": "10.1.2.3"}).json()["code"] == "VALID"
    assert verify({"key": full, "ip": "2001:db8::1"}).json()["code"] == "VALID"
    r = verify({"key": full, "ip": "192.168.0.1"}).json()
    assert (r["valid"], r["code"], r["ratelimit"]) == (False, "FORBIDDEN", None)
    # A key with an allow-list and no address to check fails closed.
    assert verify({"key": full}).json()["code"] == "FORBIDDEN"
    # A key without an allow-list ignores the field.
    _, anywhere = make_key(name="anywhere")
    assert verify({"key": anywhere, "ip": "192.168.0.1"}).json()["code"] == "VALID"


def test_insufficient_permissions_is_not_counted_nor_charged(verify, make_key, fund, org):
    fund(org, 1_000_000)
    _, full = make_key(permissions=["chat:read"], rate_limit=3)
    fresh_window(key_bucket(full))
    for wanted in (["chat:write"], ["chat"], ["chat:read", "billing"], ["verify"]):
        r = verify({"key": full, "permissions": wanted, "cost": "0.1"}).json()
        assert (r["valid"], r["code"]) == (False, "INSUFFICIENT_PERMISSIONS")
        assert (r["ratelimit"], r["credits"]) == (None, None)
    r = verify({"key": full, "permissions": ["chat:read"]}).json()
    assert (r["code"], r["ratelimit"]["remaining"]) == ("VALID", 2)
    assert balance_micros(organization=org) == 1_000_000


def test_rate_limited_is_counted_but_not_charged(verify, make_key, fund, org):
    fund(org, 1_000_000)
    _, full = make_key(rate_limit=2)
    fresh_window(key_bucket(full))
    remaining = [
        verify({"key": full, "cost": "0.1"}).json()["ratelimit"]["remaining"] for _ in "ab"
    ]
    assert remaining == [1, 0]
    r = verify({"key": full, "cost": "0.1"}).json()
    assert (r["valid"], r["code"], r["ratelimit"]["remaining"]) == (False, "RATE_LIMITED", 0)
    assert r["credits"] is None
    assert balance_micros(organization=org) == 800_000


def test_insufficient_credits(verify, make_key, fund, org):
    fund(org, 1000)
    _, full = make_key()
    fresh_window(key_bucket(full))
    r = verify({"key": full, "cost": "0.002"}).json()
    assert (r["valid"], r["code"]) == (False, "INSUFFICIENT_CREDITS")
    assert r["credits"] == {"remaining": "0.001000"}
    assert r["ratelimit"]["remaining"] == 59
    assert balance_micros(organization=org) == 1000
    assert usage(org) == []


def test_test_keys_are_never_charged(verify, make_key, org):
    _, full = make_key(environment="test")
    r = verify({"key": full, "cost": "3"}).json()
    assert (r["valid"], r["code"], r["environment"]) == (True, "VALID", "test")
    assert r["credits"] == {"remaining": "0.000000"}
    assert usage(org) == []


def test_request_id_makes_a_retry_free(verify, make_key, fund, org, gateway):
    fund(org, 1_000_000)
    key, full = make_key()
    body = {"key": full, "cost": "0.25", "requestId": "gw-req:42"}
    first, second = verify(body).json(), verify(body).json()
    assert (first["code"], first["credits"]) == ("VALID", {"remaining": "0.750000"})
    assert (second["code"], second["credits"]) == ("VALID", {"remaining": "0.750000"})
    [row] = usage(org)
    # Scoped to the calling key (issue 9): another gateway's "gw-req:42" is its own.
    caller = APIKey.objects.get(digest=keyformat.digest(gateway))
    assert row.reference == f"verify:{caller.id.hex}:{key.id.hex}:gw-req:42"
    r = verify({**body, "cost": "0.5"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    assert balance_micros(organization=org) == 750_000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "key"),
        ({"key": ""}, "key"),
        ({"key": 5}, "key"),
        ({"key": None}, "key"),
        ({"key": ["k"]}, "key"),
        ({"key": "k" * 1001}, "key"),
        ({"key": "K", "cost": 0.5}, "cost"),
        ({"key": "K", "cost": "-1"}, "cost"),
        ({"key": "K", "cost": -1}, "cost"),
        ({"key": "K", "cost": "0.0000001"}, "cost"),
        ({"key": "K", "cost": "1000.000001"}, "cost"),
        ({"key": "K", "cost": 10**12}, "cost"),
        ({"key": "K", "cost": "NaN"}, "cost"),
        ({"key": "K", "cost": "1e3"}, "cost"),
        ({"key": "K", "cost": True}, "cost"),
        ({"key": "K", "cost": None}, "cost"),
        ({"key": "K", "cost": {"usd": 1}}, "cost"),
        ({"key": "K", "permissions": "chat"}, "permissions"),
        ({"key": "K", "permissions": ["root"]}, "permissions"),
        ({"key": "K", "permissions": [1]}, "permissions"),
        ({"key": "K", "permissions": {"chat": True}}, "permissions"),
        ({"key": "K", "permissions": ["chat"] * 51}, "permissions"),
        ({"key": "K", "ip": "not-an-address"}, "ip"),
        ({"key": "K", "ip": 10}, "ip"),
        ({"key": "K", "requestId": "has space"}, "requestId"),
        ({"key": "K", "requestId": "x" * 101}, "requestId"),
        ({"key": "K", "requestId": 7}, "requestId"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(verify, make_key, fund, org, body, field):
    fund(org, 1_000_000)
    _, full = make_key(rate_limit=5)
    fresh_window(key_bucket(full))
    if body.get("key") == "K":
        body = {**body, "key": full}
    r = verify(body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert list(error["details"]["fields"]) == [field]
    assert balance_micros(organization=org) == 1_000_000
    assert verify({"key": full}).json()["ratelimit"]["remaining"] == 4


@pytest.mark.parametrize("body", [["key"], "key", 5])
def test_a_body_that_is_not_an_object_is_400(verify, body):
    r = verify(body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_zero_cost_and_integer_cost(verify, make_key, fund, org):
    fund(org, 2_000_000)
    _, full = make_key()
    assert verify({"key": full, "cost": "0"}).json()["credits"] == {"remaining": "2.000000"}
    assert verify({"key": full, "cost": 0}).json()["credits"] == {"remaining": "2.000000"}
    assert verify({"key": full, "cost": 2}).json()["credits"] == {"remaining": "0.000000"}
    assert usage(org)[0].amount_micros == -2_000_000


def test_the_caller_needs_the_verify_permission(api, make_key):
    _, caller = make_key(permissions=["chat", "billing", "keys"], name="no verify")
    _, target = make_key()
    r = api.post(
        "/api/v1/keys/verify",
        {"key": target},
        format="json",
        headers={"Authorization": f"Bearer {caller}"},
    )
    assert r.status_code == 403
    assert r.json() == {"error": {"code": "FORBIDDEN", "message": "Insufficient permissions"}}


def test_the_caller_must_authenticate(api, make_key):
    _, target = make_key()
    r = api.post("/api/v1/keys/verify", {"key": target}, format="json")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "UNAUTHORIZED"
    # The key in the body is not a credential for the call itself.


def test_a_key_with_every_permission_may_not_verify(verify, make_key):
    """`verify` is not part of "empty = every permission" (issue 9 item 6)."""
    _, full = make_key()
    r = verify({"key": full}, caller=full)
    assert r.status_code == 403
    assert r.json()["error"] == {"code": "FORBIDDEN", "message": "Insufficient permissions"}
