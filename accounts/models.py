"""Organizations, users and memberships: who owns keys, credits and a plan."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class Plan(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    custom_rate_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Requests per minute for an enterprise organization.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(custom_rate_limit__isnull=True) | Q(custom_rate_limit__gte=1),
                name="org_custom_rate_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(plan__in=[p.value for p in Plan]), name="org_plan_known"
            ),
        ]

    def __str__(self) -> str:
        # The name, as the admin's organization list shows it (the slug is for URLs).
        return self.name

    @property
    def rate_limit_per_minute(self) -> int:
        """The plan's requests per minute (enterprise: the custom limit when set)."""
        if self.plan == Plan.ENTERPRISE and self.custom_rate_limit:
            return self.custom_rate_limit
        return settings.PLAN_RATE_LIMITS[self.plan]


class User(AbstractUser):
    """A person or agent; may sign in with a password, a wallet, or both."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Stored EIP-55 checksummed; unique among users that have one.
    wallet_address = models.CharField(max_length=42, unique=True, null=True, blank=True)

    def __str__(self) -> str:
        return self.username


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"
