"""Wallet writes: SIWE sign-in (with a key, or for a browser session) and headless
key creation.

Order matters: the signed message is verified first; then the cheap refusals
that need the wallet's account (the active-key cap) run before the nonce is
spent, so such a refusal costs the client nothing and the same signed message
works once the cause is gone. Only then is the nonce spent (in the shared
cache) and the database written — account find-or-create, then the key. A
failure after the nonce is spent costs the client a new nonce, never a second
use of the old one.

The wallet's account is looked up once, for those refusals, and what was found
is handed on to the find-or-create; the key's cap is then checked again, as
always, under the organization's row lock (apikey_create), which is what holds
under concurrency. A returning wallet's sign-in costs 8 queries
(tests/wallet/test_sign_in_queries.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Organization, User
from accounts.selectors import WalletAccountFound, wallet_account_find
from accounts.services import NOT_LOOKED_UP, NotLookedUp, wallet_account_get_or_create
from apikeys.models import APIKey
from apikeys.selectors import key_room_check
from apikeys.services import apikey_create, apikey_revoke
from apikeys.validation import clean_expires_at, clean_name
from wallet.siwe_verify import SiweFailed, VerifiedSiwe, siwe_verify

SIWE_KEY_NAME = "SIWE sign-in"


@dataclass(frozen=True)
class SignIn:
    key: str  # the full key: shown once, in this response
    api_key: APIKey
    user: User
    organization: Organization
    is_new_account: bool


def siwe_sign_in(*, message: str, signature: str, actor_ip: str | None = None) -> SignIn:
    """Verify a SIWE message, find or create the wallet's account, issue a live key."""
    before = _BeforeClaim(room=_sign_in_room_check)
    verified = siwe_verify(message=message, signature=signature, before_claim=before)
    user, org, created = wallet_account_get_or_create(address=verified.address, found=before.found)
    api_key, full_key = apikey_create(
        organization=org,
        created_by=user,
        name=SIWE_KEY_NAME,
        environment="live",
        actor_ip=actor_ip,
        # At the cap, under the organization's lock (the one apikey_create takes),
        # the oldest sign-in key makes room: retiring it and creating the new key
        # are one step under concurrent sign-ins.
        make_room=functools.partial(_revoke_oldest_sign_in_key, user=user, actor_ip=actor_ip),
    )
    return SignIn(full_key, api_key, user, org, created)


@dataclass(frozen=True)
class WalletAccount:
    user: User
    organization: Organization
    is_new_account: bool


def siwe_account_verify(*, message: str, signature: str) -> WalletAccount:
    """Verify a SIWE message (same rules as sign-in) and find or create the wallet's
    account, without issuing a key: the browser sign-in, which the view turns into
    a dashboard session. A deactivated user is refused before the nonce is spent."""
    before = _BeforeClaim()
    verified = siwe_verify(message=message, signature=signature, before_claim=before)
    user, org, created = wallet_account_get_or_create(address=verified.address, found=before.found)
    if not created and not User.objects.filter(pk=user.pk, is_active=True).exists():
        raise SiweFailed(f"wallet user {user.pk} is deactivated")  # since the check
    return WalletAccount(user, org, created)


@dataclass
class _BeforeClaim:
    """The checks that run after the signature verifies and before the nonce is
    spent (siwe_verify's before_claim): the wallet's account is looked up once,
    its user must be active, and `room` may refuse (the key cap). What was found
    is kept in `found` and handed to wallet_account_get_or_create, so the sign-in
    does not look the wallet up a second time."""

    room: Callable[[Organization], None] | None = None
    found: WalletAccountFound | NotLookedUp = NOT_LOOKED_UP

    def __call__(self, verified: VerifiedSiwe) -> None:
        found = wallet_account_find(address=verified.address)
        if found is not None and not found[0].is_active:
            raise SiweFailed(f"wallet user {found[0].pk} is deactivated")
        if found is not None and found[1] is not None and self.room is not None:
            self.room(found[1])  # a new account has no keys
        self.found = found


def _sign_in_room_check(org: Organization) -> None:
    """At the cap, a sign-in needs a sign-in key to retire."""
    if not APIKey.objects.filter(organization=org, name=SIWE_KEY_NAME).active().exists():
        key_room_check(org)


def _revoke_oldest_sign_in_key(organization: Organization, *, user: User, actor_ip) -> None:
    """At the active-key cap, the oldest SIWE sign-in key makes room (with its audit
    event). Keys made any other way are never touched: if there is no sign-in key
    to retire, apikey_create answers KEY_LIMIT_REACHED."""
    oldest = (
        APIKey.objects.filter(organization=organization, name=SIWE_KEY_NAME)
        .active()
        .order_by("created_at", "id")
        .first()
    )
    if oldest is not None:
        apikey_revoke(
            key=oldest,
            actor_id=user.pk,
            actor_ip=actor_ip,
            reason="Oldest SIWE sign-in key, revoked to make room for a new sign-in",
        )


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
    # Bad input is refused before the signature is checked, and the key cap before
    # the nonce is spent: neither costs the client its signed message.
    name = clean_name(name)
    if expires_at is not None:
        expires_at = clean_expires_at(expires_at, now=timezone.now())
    # Before the nonce is spent: a deactivated user gets 401, an organization at
    # the cap 409, and neither costs the signed message.
    before = _BeforeClaim(room=key_room_check)
    verified = siwe_verify(
        message=message,
        signature=signature,
        headless=True,
        expected_address=address,
        before_claim=before,
    )
    user, org, _created = wallet_account_get_or_create(address=verified.address, found=before.found)
    return apikey_create(
        organization=org,
        created_by=user,
        name=name,
        environment="live",
        expires_at=expires_at,
        actor_ip=actor_ip,
    )
