"""SIWE sign-in: the API's (a key), the browser's (a session) and headless key
creation (a key named by the client). Each reads top to bottom:

1. check the signed message (pure: wallet.siwe_verify);
2. find the wallet's account, and its organization's room for a key (one query);
3. refuse a deactivated user, or an organization at its key cap;
4. spend the nonce;
5. get or create the account (with its sign-up credits: wallet.accounts);
6. create the key (apikeys.services; at the cap a sign-in retires its oldest
   sign-in key there, under the organization's lock).

The refusals run before the nonce is spent, so such a refusal costs the client
nothing and the same signed message works once the cause is gone. A failure
after the nonce is spent costs the client a new nonce, never a second use of
the old one. The cap is checked again under the organization's row lock
(apikey_create), which is what holds under concurrency. A returning wallet's
sign-in costs 2 round trips to PostgreSQL: that query and the key created in one
statement (apikeys.capped); the connection's health check sends nothing
(config/postgresql). 7 statements on SQLite (tests/wallet/test_signin.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Organization, User
from accounts.principal import Environment
from accounts.selectors import WalletAccountFound, wallet_account_find, wallet_account_find_with
from apikeys.models import APIKey
from apikeys.selectors import key_room_annotations, key_room_refuse
from apikeys.services import apikey_create
from apikeys.validation import clean_expires_at, clean_name
from wallet.accounts import signup_allow, wallet_account_open
from wallet.nonces import nonce_claim
from wallet.siwe_verify import SiweFailed, VerifiedSiwe, siwe_check

SIWE_KEY_NAME = "SIWE sign-in"
RETIRED_FOR_SIGN_IN = "Oldest SIWE sign-in key, revoked to make room for a new sign-in"


@dataclass(frozen=True)
class SignIn:
    key: str  # the full key: shown once, in this response
    api_key: APIKey
    user: User
    organization: Organization
    is_new_account: bool


@dataclass(frozen=True)
class WalletAccount:
    user: User
    organization: Organization
    is_new_account: bool


def siwe_sign_in(*, message: str, signature: str, actor_ip: str | None = None) -> SignIn:
    """Verify a SIWE message, find or create the wallet's account, issue a live key."""
    verified = siwe_check(message=message, signature=signature)
    # At the cap, a sign-in needs a sign-in key to retire.
    found, room = _find(verified.address, replaceable_name=SIWE_KEY_NAME)
    _refuse_inactive(found)
    _refuse_signup(found, actor_ip, verified.address)
    _refuse_at_cap(room)
    _spend_nonce(verified, headless=False)
    user, org, created = wallet_account_open(address=verified.address, found=found)
    api_key, full_key = apikey_create(
        organization=org,
        created_by=user,
        name=SIWE_KEY_NAME,
        environment=Environment.LIVE,
        actor_ip=actor_ip,
        replacing_oldest=RETIRED_FOR_SIGN_IN,
    )
    return SignIn(full_key, api_key, user, org, created)


def siwe_account_verify(
    *, message: str, signature: str, actor_ip: str | None = None
) -> WalletAccount:
    """The browser sign-in: the same checks, and the wallet's account found or
    created, without a key (the view turns it into a dashboard session)."""
    verified = siwe_check(message=message, signature=signature)
    found = wallet_account_find(address=verified.address)
    _refuse_inactive(found)
    _refuse_signup(found, actor_ip, verified.address)
    _spend_nonce(verified, headless=False)
    user, org, created = wallet_account_open(address=verified.address, found=found)
    if not created and not User.objects.filter(pk=user.pk, is_active=True).exists():
        raise SiweFailed(f"wallet user {user.pk} is deactivated")  # since the check
    return WalletAccount(user, org, created)


def headless_key_create(
    *,
    address: str,
    message: str,
    signature: str,
    name: str,
    expires_at: dt.datetime | None = None,
    actor_ip: str | None = None,
) -> tuple[APIKey, str]:
    """Ethos-style key creation: the wallet proves itself with a SIWE message in the
    body instead of credentials. Returns (key row, full key) like apikey_create."""
    # Bad input is refused before the signature is checked: it costs the client
    # nothing.
    name = clean_name(name)
    if expires_at is not None:
        expires_at = clean_expires_at(expires_at, now=timezone.now())
    verified = siwe_check(
        message=message, signature=signature, headless=True, expected_address=address
    )
    found, room = _find(verified.address, replaceable_name=None)
    _refuse_inactive(found)
    _refuse_signup(found, actor_ip, verified.address)
    _refuse_at_cap(room)
    _spend_nonce(verified, headless=True)
    user, org, _created = wallet_account_open(address=verified.address, found=found)
    return apikey_create(
        organization=org,
        created_by=user,
        name=name,
        environment=Environment.LIVE,
        expires_at=expires_at,
        actor_ip=actor_ip,
    )


def _find(address: str, *, replaceable_name: str | None) -> tuple[WalletAccountFound, dict]:
    """The wallet's account and its organization's room for another key, in one query."""
    return wallet_account_find_with(
        address=address, annotate=key_room_annotations(replaceable_name=replaceable_name)
    )


def _refuse_at_cap(room: dict) -> None:
    """KeyLimitReached at the cap (a new account has no organization, so no keys)."""
    if room:
        key_room_refuse(room)


def _refuse_inactive(found: WalletAccountFound) -> None:
    if found is not None and not found[0].is_active:
        raise SiweFailed(f"wallet user {found[0].pk} is deactivated")


def _refuse_signup(found: WalletAccountFound, client_ip: str | None, address: str) -> None:
    """A new wallet is a new account: SIGNUP_RATE per client address (SPEC §3)."""
    if found is None:
        signup_allow(client_ip=client_ip, address=address)


def _spend_nonce(verified: VerifiedSiwe, *, headless: bool) -> None:
    """The nonce's one use (a headless message may carry the client's own nonce)."""
    if not nonce_claim(verified.nonce, allow_client_nonce=headless, address=verified.address):
        raise SiweFailed("SIWE nonce unknown, expired or already used")
