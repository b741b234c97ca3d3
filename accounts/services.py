"""Writes for organizations, users and memberships."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import Membership, Organization, Plan, Role, User
from accounts.selectors import WalletAccountFound, wallet_account_find
from accounts.wallet_address import checksum_address
from billing.models import EntryKind
from billing.money import MICROS_PER_USD
from billing.services import credits_grant
from config.errors import Conflict, ValidationFailed


def _validate_org_fields(*, name: str, slug: str, plan: str, custom_rate_limit: int | None) -> None:
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        errors["name"] = ["Must be 1 to 100 characters."]
    if not slug or slug != slugify(slug) or len(slug) > 50:
        errors["slug"] = ["Use 1 to 50 lowercase letters, digits and hyphens."]
    if plan not in Plan.values:
        errors["plan"] = [f"Unknown plan {plan!r}; choose one of {', '.join(Plan.values)}."]
    if custom_rate_limit is not None and not (1 <= custom_rate_limit <= 1_000_000):
        errors["customRateLimit"] = ["Must be between 1 and 1000000 requests per minute."]
    if errors:
        raise ValidationFailed("Invalid organization.", details={"fields": errors})


def organization_create(
    *,
    name: str,
    slug: str | None = None,
    plan: str = Plan.FREE,
    custom_rate_limit: int | None = None,
    owner: User | None = None,
) -> Organization:
    """Create an organization and, optionally, its owner (billing opens its credit account)."""
    slug = slug if slug is not None else slugify(name)[:50]
    _validate_org_fields(name=name, slug=slug, plan=plan, custom_rate_limit=custom_rate_limit)
    try:
        with transaction.atomic():
            org = Organization.objects.create(
                name=name, slug=slug, plan=plan, custom_rate_limit=custom_rate_limit
            )
            if owner is not None:
                Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    except IntegrityError as exc:
        if Organization.objects.filter(slug=slug).exists():
            raise Conflict(f"An organization with slug {slug!r} already exists.") from exc
        raise
    return org


def membership_add(
    *, user: User, organization: Organization, role: str = Role.MEMBER
) -> Membership:
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}.")
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


class NotLookedUp:
    """The default of wallet_account_get_or_create's `found`: look the wallet up."""


NOT_LOOKED_UP = NotLookedUp()


def wallet_account_get_or_create(
    *,
    address: str,
    found: WalletAccountFound | NotLookedUp = NOT_LOOKED_UP,
    signup_bonus: bool = True,
) -> tuple[User, Organization, bool]:
    """The user and organization of a wallet, created on its first sign-in.

    Race-safe: concurrent first sign-ins of one wallet all try to insert the
    user; the unique index on `wallet_address` lets exactly one commit, and the
    others roll back whole and read the winner's rows. The sign-up bonus has a
    per-address ledger reference, so it is granted once whatever happens.
    Returns (user, organization, created).

    found: what `wallet_account_find` answered for this address moments ago (a
    caller that already looked, e.g. to check the user before spending a SIWE
    nonce), so the wallet is not looked up twice. An account found complete is
    returned as is; anything else goes the same race-safe way as without it,
    and a stale "not found" only costs one failed insert and a fresh look.

    signup_bonus: False for an account made by someone paying for it (an x402
    top-up naming a new wallet), which gets what was paid and no free credits.
    """
    checksummed = checksum_address(address)
    for _ in range(3):
        if isinstance(found, NotLookedUp):
            found = wallet_account_find(address=checksummed)
        if found is not None and found[1] is not None:
            return found[0], found[1], False
        try:
            with transaction.atomic():
                if found is None:
                    user = User(username=_free_username(checksummed), wallet_address=checksummed)
                    user.set_unusable_password()
                    user.save(force_insert=True)
                    created = True
                else:
                    # A wallet user whose own organization was removed gets a new
                    # one; the row lock keeps two requests from making two.
                    user = User.objects.select_for_update().get(pk=found[0].pk)
                    created = False
                    again = wallet_account_find(address=checksummed)
                    if again is not None and again[1] is not None:
                        return again[0], again[1], False
                org = organization_create(
                    name=f"Wallet {checksummed[:6]}…{checksummed[-4:]}",
                    slug=_free_wallet_slug(checksummed),
                    owner=user,
                )
                if signup_bonus:
                    _grant_signup_bonus(organization=org, address=checksummed)
            return user, org, created
        except (IntegrityError, Conflict):
            # Another request created this wallet's account first: read theirs.
            found = NOT_LOOKED_UP
    raise Conflict("Could not create the account for this wallet; try again.")


def _free_username(address: str) -> str:
    username = address.lower()
    if User.objects.filter(username=username).exists():
        # Taken by a user whose wallet was changed since, or made by hand.
        username = f"{username}-{secrets.token_hex(3)}"
    return username


def _free_wallet_slug(address: str) -> str:
    slug = address.lower()
    if Organization.objects.filter(slug=slug).exists():
        # An operator already used it (improbable); a suffix keeps it readable.
        slug = f"{slug[:42]}-{secrets.token_hex(3)}"
    return slug


def _grant_signup_bonus(*, organization: Organization, address: str) -> None:
    micros = int(settings.INITIAL_FREE_CREDITS * MICROS_PER_USD)
    if micros <= 0:
        return
    credits_grant(
        organization=organization,
        amount_micros=micros,
        kind=EntryKind.SIGNUP_BONUS,
        # One bonus per wallet, ever: a retry or a race finds this reference taken.
        reference=f"signup:{address}",
        description="Initial free credits for a new wallet account",
    )
