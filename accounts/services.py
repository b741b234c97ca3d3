"""Writes for organizations, users and memberships."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import Membership, Organization, Plan, Role, User
from accounts.roles import may_change_roles
from accounts.selectors import WalletAccountFound, wallet_account_find
from accounts.wallet_address import checksum_address
from config.errors import Conflict, Forbidden, NotFound, ValidationFailed


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


def wallet_account_ensure(
    *, address: str, found: WalletAccountFound
) -> tuple[User, Organization, bool]:
    """The user and organization of a wallet, created on its first sign-in.

    found: what `wallet_account_find` answered for this (checksummed) address
    moments ago; the caller looked, e.g. to check the user before spending a SIWE
    nonce, so the wallet is not looked up twice. An account found complete is
    returned as is; anything else is made here.

    Race-safe: concurrent first sign-ins of one wallet all try to insert the
    user; the unique index on `wallet_address` lets exactly one commit, and the
    others roll back whole and read the winner's rows (a stale "not found" only
    costs one failed insert and a fresh look). Returns (user, organization,
    created). The sign-up credits are billing's, granted by the caller.
    """
    checksummed = checksum_address(address)
    for _ in range(3):
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
            return user, org, created
        except (IntegrityError, Conflict):
            # Another request created this wallet's account first: read theirs.
            found = wallet_account_find(address=checksummed)
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


def user_sign_up(
    *, email: str, password: str, organization_name: str = ""
) -> tuple[User, Organization]:
    """A person signing up with email and password: a user (username = the email)
    and an organization they own, in one transaction.

    The password goes through AUTH_PASSWORD_VALIDATORS; errors name the fields
    (`email`, `password`, `organizationName`). No free credits: those come with a
    wallet, whose address makes them once-only; an email address costs nothing.
    """
    errors: dict[str, list[str]] = {}
    email = User.objects.normalize_email((email or "").strip()).lower()
    try:
        validate_email(email)
        if len(email) > 150:
            raise DjangoValidationError("At most 150 characters.")
    except DjangoValidationError as exc:
        errors["email"] = list(exc.messages)
    organization_name = (organization_name or "").strip() or (
        f"{email.split('@')[0]}'s organization" if "@" in email else ""
    )
    if not organization_name or len(organization_name) > 100:
        errors.setdefault("organizationName", ["Must be 1 to 100 characters."])
    if "email" not in errors:
        try:
            validate_password(password or "", user=User(username=email, email=email))
        except DjangoValidationError as exc:
            errors["password"] = list(exc.messages)
    if "email" not in errors and User.objects.filter(username__iexact=email).exists():
        errors["email"] = ["An account with this email already exists; sign in instead."]
    if errors:
        raise ValidationFailed("Invalid sign-up.", details={"fields": errors})
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=email, email=email, password=password)
            org = organization_create(
                name=organization_name, slug=_free_slug(organization_name), owner=user
            )
    except IntegrityError as exc:
        # Two sign-ups with one email at the same moment: the unique username decides.
        raise ValidationFailed(
            "Invalid sign-up.",
            details={"fields": {"email": ["An account with this email already exists."]}},
        ) from exc
    return user, org


def _free_slug(name: str) -> str:
    base = slugify(name)[:40] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def membership_role_change(
    *, organization: Organization, user_id: Any, role: str, by: User
) -> Membership:
    """An owner changes a member's role. The organization keeps at least one owner."""
    if role not in Role.values:
        raise ValidationFailed(
            "Unknown role.",
            details={"fields": {"role": [f"Choose one of {', '.join(Role.values)}."]}},
        )
    with transaction.atomic():
        # Memberships of the organization locked together: two owners demoting
        # each other at once cannot leave it with none.
        members = {
            str(m.user_id): m
            for m in Membership.objects.select_for_update().filter(organization=organization)
        }
        acting = members.get(str(by.pk))
        if acting is None or not may_change_roles(acting.role):
            raise Forbidden("Only an owner can change roles.")
        target = members.get(str(user_id))
        if target is None:
            raise NotFound("No such member in this organization.")
        owners = [m for m in members.values() if m.role == Role.OWNER]
        if target.role == Role.OWNER and role != Role.OWNER and len(owners) == 1:
            raise Conflict(
                "An organization needs at least one owner; make someone else owner first."
            )
        if target.role != role:
            target.role = role
            target.save(update_fields=["role"])
    return target
