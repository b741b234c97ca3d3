"""Item 6 of issue 9 (SPEC §2, §4): `verify` is privileged.

The attack: `verify` was part of "empty = every permission", so any customer
key (a SIWE sign-in key too) was a trusted gateway: it could charge another
organization's credits with that organization's key, pass a made-up `ip` past an
allow-list and write made-up addresses into another organization's audit
trail. Now only an operator grants `verify`; uses reported through verify are
audited with the verifying key as the actor; `requestId` is scoped to the
calling key."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apikeys.models import APIKey, APIKeyEvent, EventAction
from billing.models import EntryKind, LedgerEntry
from billing.services import balance_micros, credits_grant
from tests.security.conftest import KEYS, as_key, as_session, as_wallet, error, send
from tests.wallet.helpers import sign, siwe_text

pytestmark = pytest.mark.django_db(transaction=True)
VERIFY = "/api/v1/keys/verify"


def fund(org, micros: int) -> None:
    credits_grant(organization=org, amount_micros=micros, kind=EntryKind.TOPUP)


def verify(caller: str, body: dict):
    return send(as_key(caller), "POST", VERIFY, body)


def test_customer_key_cannot_verify_or_charge_another_organization(make_key, other_org):
    fund(other_org, 5_000_000)
    _, customer = make_key(name="everything", permissions=[])
    _, victim = make_key(organization=other_org, created_by=None, name="victim")
    before = list(LedgerEntry.objects.values_list("id", flat=True))

    r = verify(customer, {"key": victim, "cost": "1", "ip": "203.0.113.9"})

    assert error(r) == (403, "FORBIDDEN")
    assert r.json()["error"]["message"] == "Insufficient permissions"
    assert balance_micros(organization=other_org) == 5_000_000
    assert list(LedgerEntry.objects.values_list("id", flat=True)) == before
    assert not APIKeyEvent.objects.filter(ip="203.0.113.9").exists()


def test_siwe_sign_in_key_cannot_verify(wallet, make_key, other_org):
    api = APIClient()
    nonce = api.get("/api/auth/siwe/nonce").json()["nonce"]
    text = siwe_text(wallet, nonce=nonce)
    signed_in = api.post(
        "/api/auth/siwe/verify", {"message": text, "signature": sign(wallet, text)}, format="json"
    )
    assert signed_in.status_code == 200, signed_in.json()
    _, victim = make_key(organization=other_org, created_by=None)

    assert error(verify(signed_in.json()["apiKey"], {"key": victim})) == (403, "FORBIDDEN")


def test_no_api_call_can_grant_verify(user, make_key, wallet):
    _, full_key = make_key(name="everything", permissions=[])
    before = APIKey.objects.count()
    body = {"name": "wants verify", "permissions": ["verify"]}

    attempts = {
        "session": send(as_session(user), "POST", KEYS, body),
        "full key": send(as_key(full_key), "POST", KEYS, body),
        "wallet": as_wallet(APIClient(), wallet, "POST", KEYS, body),
    }
    for who, r in attempts.items():
        assert error(r) == (403, "FORBIDDEN"), who
    assert APIKey.objects.count() == before


def test_a_key_holding_verify_cannot_pass_it_on(other_org):
    # Even an operator-made key that holds `verify` and `keys` cannot mint another.
    from apikeys.services import apikey_create

    _, manager = apikey_create(
        organization=other_org, name="gateway manager", permissions=["verify", "keys"]
    )
    before = APIKey.objects.count()
    r = send(as_key(manager), "POST", KEYS, {"name": "copy", "permissions": ["verify"]})
    assert error(r) == (403, "FORBIDDEN")
    assert APIKey.objects.count() == before


def test_operator_grants_verify(make_key, other_org, org):
    out = io.StringIO()
    call_command(
        "create_api_key",
        "--org",
        other_org.slug,
        "--name",
        "gateway",
        "--permissions",
        "verify",
        stdout=out,
    )
    gateway_full = out.getvalue().strip().splitlines()[-1]
    _, customer = make_key(name="customer")
    r = verify(gateway_full, {"key": customer})
    assert r.status_code == 200, r.json()
    assert (r.json()["valid"], r.json()["code"]) == (True, "VALID")


def test_use_through_verify_is_audited_with_the_verifying_key_as_actor(gateway, make_key):
    gateway_row, gateway_full = gateway
    customer, customer_full = make_key(name="customer")

    r = verify(gateway_full, {"key": customer_full, "ip": "203.0.113.9"})
    assert r.json()["code"] == "VALID"

    event = APIKeyEvent.objects.get(key=customer, action=EventAction.NEW_ADDRESS)
    assert (event.ip, event.actor_key_id) == ("203.0.113.9", gateway_row.id)


def test_request_id_is_scoped_to_the_calling_key(make_key, org, other_org):
    from apikeys.services import apikey_create

    fund(org, 5_000_000)
    _, gateway_one = apikey_create(organization=other_org, name="gw 1", permissions=["verify"])
    _, gateway_two = apikey_create(organization=other_org, name="gw 2", permissions=["verify"])
    _, customer = make_key(name="customer")

    r = verify(gateway_one, {"key": customer, "cost": "0.01", "requestId": "req-1"})
    assert (r.status_code, r.json().get("code")) == (200, "VALID")
    assert balance_micros(organization=org) == 4_990_000
    # A retry by the same gateway is free.
    r = verify(gateway_one, {"key": customer, "cost": "0.01", "requestId": "req-1"})
    assert (r.status_code, r.json().get("code")) == (200, "VALID")
    assert balance_micros(organization=org) == 4_990_000

    # Another gateway's request with the same id is its own request: charged, not a 409.
    r = verify(gateway_two, {"key": customer, "cost": "0.02", "requestId": "req-1"})
    assert (r.status_code, r.json().get("code")) == (200, "VALID"), r.json()
    assert balance_micros(organization=org) == 4_970_000
    r = verify(gateway_two, {"key": customer, "cost": "0.01", "requestId": "req-1"})
    assert error(r) == (409, "CONFLICT")
    assert balance_micros(organization=org) == 4_970_000
