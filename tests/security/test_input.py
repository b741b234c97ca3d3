"""Items 7, 11 and 13 (input) of issue 9: bad input is a 4xx that changes nothing,
and is refused cheaply, before a nonce is spent or anything is created.

- 7: `expiresAt` with a UTC offset PostgreSQL cannot store (beyond ±15:59) was a
  500 there; on headless creation the SIWE nonce was spent and the account
  committed by then.
- 11: a SIWE message with many resources cost 50x a normal one before its
  signature was checked (SPEC §3: ≤ 10 resources, signature before grammar);
  client-chosen headless nonces shared one namespace, so anyone could pre-burn a
  predictable one (now single-use per address).
- 13: `allowedIps: ["10.0.0.1/0"]` silently became 0.0.0.0/0 (host bits set: 400
  naming it); `X-Wallet-Address` in upper case was refused (any case is fine:
  the signature proves the address).
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import siwe
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from apikeys.models import APIKey
from tests.security.conftest import KEYS, as_session, error, send
from tests.wallet.helpers import new_wallet, sign, siwe_text, wallet_headers
from wallet.messages import iso

pytestmark = pytest.mark.django_db(transaction=True)


def offset_date(days: int, offset: str) -> str:
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).date()
    return f"{day.isoformat()}T12:00:00{offset}"


# --- item 7 ----------------------------------------------------------------------


@pytest.mark.parametrize("offset", ["+20:00", "-16:00", "+23:59"])
def test_expires_at_offset_out_of_range_is_400(user, offset):
    r = send(as_session(user), "POST", KEYS, {"name": "k", "expiresAt": offset_date(30, offset)})
    assert error(r) == (400, "VALIDATION_ERROR")
    assert "expiresAt" in r.json()["error"]["details"]["fields"]
    assert not APIKey.objects.exists()


def test_expires_at_with_a_storable_offset_is_fine(user):
    r = send(as_session(user), "POST", KEYS, {"name": "k", "expiresAt": offset_date(30, "+14:00")})
    assert r.status_code == 201, r.json()


def headless_body(account, *, nonce: str = "clientNonce0001", **extra) -> dict:
    text = siwe_text(account, nonce=nonce, expiration=dt.timedelta(minutes=10))
    return {
        "address": account.address,
        "message": text,
        "signature": sign(account, text),
        "name": "bot",
        **extra,
    }


def test_headless_bad_expiry_spends_no_nonce_and_creates_nothing(wallet):
    body = headless_body(wallet, expiresAt=offset_date(30, "+20:00"))
    r = APIClient().post(KEYS, body, format="json")
    assert error(r) == (400, "VALIDATION_ERROR")
    assert not User.objects.exists()
    assert not APIKey.objects.exists()

    # The same signed message still works: its nonce was not spent.
    body["expiresAt"] = offset_date(30, "Z")
    r = APIClient().post(KEYS, body, format="json")
    assert r.status_code == 201, r.json()


# --- item 11 ---------------------------------------------------------------------


def siwe_with_resources(account, nonce: str, resources: list[str]) -> str:
    now = dt.datetime.now(dt.UTC)
    return siwe.SiweMessage(
        domain=settings.APP_DOMAIN,
        address=account.address,
        uri=settings.APP_ORIGIN,
        version="1",
        chain_id=1,
        issued_at=iso(now),
        expiration_time=iso(now + dt.timedelta(minutes=5)),
        nonce=nonce,
        statement="Sign in to Gatehouse.",
        resources=resources,
    ).prepare_message()


def test_siwe_message_with_more_than_ten_resources_is_refused(wallet):
    api = APIClient()
    nonce = api.get("/api/auth/siwe/nonce").json()["nonce"]
    many = [f"https://example.com/r/{i}" for i in range(11)]
    text = siwe_with_resources(wallet, nonce, many)
    r = api.post(
        "/api/auth/siwe/verify", {"message": text, "signature": sign(wallet, text)}, format="json"
    )
    assert error(r) == (401, "UNAUTHORIZED")
    assert not User.objects.exists()

    # Refused before the nonce was spent: a proper message with it still signs in.
    text = siwe_with_resources(wallet, nonce, many[:10])
    r = api.post(
        "/api/auth/siwe/verify", {"message": text, "signature": sign(wallet, text)}, format="json"
    )
    assert r.status_code == 200, r.json()


def test_signature_is_checked_before_the_grammar(wallet, caplog):
    """A message whose signature is wrong is refused for its signature, before the
    (costly) grammar looks at its fields: the log's reason says which check ran."""
    api = APIClient()
    nonce = api.get("/api/auth/siwe/nonce").json()["nonce"]
    text = siwe_with_resources(wallet, nonce, ["https://example.com/ok"])
    text = text.replace("/ok", "/%zz")  # a resource the grammar refuses (not the parser)
    forged = sign(new_wallet(), text)  # and signed by someone else
    with caplog.at_level(logging.WARNING, logger="gatehouse.auth"):
        r = api.post("/api/auth/siwe/verify", {"message": text, "signature": forged}, format="json")
    assert error(r) == (401, "UNAUTHORIZED")
    reasons = [rec.getMessage() for rec in caplog.records if rec.name == "gatehouse.auth"]
    assert any("signature" in reason for reason in reasons), reasons
    assert not any("does not parse" in reason for reason in reasons), reasons


def test_client_chosen_headless_nonces_are_per_address():
    squatter, victim = new_wallet(), new_wallet()
    predictable = "predictable0001"
    r = APIClient().post(KEYS, headless_body(squatter, nonce=predictable), format="json")
    assert r.status_code == 201, r.json()

    r = APIClient().post(KEYS, headless_body(victim, nonce=predictable), format="json")
    assert r.status_code == 201, r.json()

    # Still single-use for each address.
    r = APIClient().post(KEYS, headless_body(victim, nonce=predictable), format="json")
    assert error(r) == (401, "UNAUTHORIZED")


# --- item 13: allow-lists and wallet address case ------------------------------------


@pytest.mark.parametrize("entry", ["10.0.0.1/0", "10.0.0.1/8", "192.168.1.7/24", "2001:db8::1/32"])
def test_allowed_ip_with_host_bits_is_400_naming_it(user, entry):
    r = send(as_session(user), "POST", KEYS, {"name": "k", "allowedIps": ["127.0.0.1", entry]})
    assert error(r) == (400, "VALIDATION_ERROR")
    assert entry in r.json()["error"]["message"]
    assert "allowedIps" in r.json()["error"]["details"]["fields"]
    assert not APIKey.objects.exists()


def test_allowed_networks_without_host_bits_are_kept(user):
    entries = ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]
    r = send(as_session(user), "POST", KEYS, {"name": "k", "allowedIps": entries})
    assert r.status_code == 201, r.json()
    assert r.json()["apiKey"]["allowedIps"] == entries


@pytest.mark.parametrize("spelling", ["upper", "lower"])
def test_wallet_address_header_in_any_case(wallet, spelling):
    hexpart = wallet.address[2:]
    address = "0x" + (hexpart.upper() if spelling == "upper" else hexpart.lower())
    path = "/api/v1/dashboard"
    headers = wallet_headers(wallet, method="GET", path=path, address=address)
    r = APIClient().get(path, headers=headers)
    assert r.status_code == 200, r.json()
    assert User.objects.get().wallet_address == wallet.address
