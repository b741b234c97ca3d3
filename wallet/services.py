"""Wallet writes: SIWE sign-in (with a key, or for a browser session) and headless
key creation.

Order matters: the signed message is verified first; then the cheap refusals
that need the wallet's account (the active-key cap) run before the nonce is
spent, so such a refusal costs the client nothing and the same signed message
works once the cause is gone. Only then is the nonce spent (in the shared
cache) and the database written — account find-or-create, then the key. A
failure after the nonce is spent costs the client a new nonce, never a second
use of the old one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.selectors import wallet_account_find
from accounts.services import wallet_account_get_or_create
from apikeys.models import APIKey
from apikeys.services import (
    active_key_count,
    apikey_create,
    apikey_revoke,
    clean_expires_at,
    clean_name,
    key_room_check,
)
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
    verified = siwe_verify(message=message, signature=signature, before_claim=_sign_in_room_check)
    user, org, created = wallet_account_get_or_create(address=verified.address)
    with transaction.atomic():
        # Lock the organization first (apikey_create takes the same lock), so making
        # room and creating are one step under concurrent sign-ins.
        locked = Organization.objects.select_for_update().get(pk=org.pk)
        if active_key_count(locked) >= settings.API_KEY_MAX_ACTIVE:
            _revoke_oldest_sign_in_key(organization=locked, user=user, actor_ip=actor_ip)
        api_key, full_key = apikey_create(
            organization=locked,
            created_by=user,
            name=SIWE_KEY_NAME,
            environment="live",
            actor_ip=actor_ip,
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
    verified = siwe_verify(message=message, signature=signature, before_claim=_active_user_check)
    user, org, created = wallet_account_get_or_create(address=verified.address)
    if not user.is_active:  # deactivated between the check and now
        raise SiweFailed(f"wallet user {user.pk} is deactivated")
    return WalletAccount(user, org, created)


def _active_user_check(verified: VerifiedSiwe) -> None:
    found = wallet_account_find(address=verified.address)
    if found is not None and not found[0].is_active:
        raise SiweFailed(f"wallet user {found[0].pk} is deactivated")


def _existing_organization(address: str) -> Organization | None:
    found = wallet_account_find(address=address)
    return found[1] if found is not None else None


def _sign_in_room_check(verified: VerifiedSiwe) -> None:
    """Before the nonce is spent: an active user, and at the cap a sign-in key to retire."""
    _active_user_check(verified)
    org = _existing_organization(verified.address)
    if org is None:
        return  # a new account has no keys
    if not APIKey.objects.filter(organization=org, name=SIWE_KEY_NAME).active().exists():
        key_room_check(org)


def _headless_room_check(verified: VerifiedSiwe) -> None:
    """Before the nonce is spent: a deactivated user gets 401, an organization at the
    cap 409, and neither costs the signed message."""
    _active_user_check(verified)
    org = _existing_organization(verified.address)
    if org is not None:
        key_room_check(org)


def _revoke_oldest_sign_in_key(*, organization: Organization, user: User, actor_ip) -> None:
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
    verified = siwe_verify(
        message=message,
        signature=signature,
        headless=True,
        expected_address=address,
        before_claim=_headless_room_check,
    )
    user, org, _created = wallet_account_get_or_create(address=verified.address)
    return apikey_create(
        organization=org,
        created_by=user,
        name=name,
        environment="live",
        expires_at=expires_at,
        actor_ip=actor_ip,
    )
