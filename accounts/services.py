"""Writes for organizations, users and memberships."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import Membership, Organization, Plan, Role, User
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
