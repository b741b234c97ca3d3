"""API keys and their audit trail.

A key row never holds the secret: only its SHA-256 digest (unique index) and a
display hint. Revocation is soft (`revoked_at`) so the audit trail keeps its
subject. Writes go through `apikeys.services`; the hot path reads a cached
record (`apikeys.keycache`), not these rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.principal import Environment


class KeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class APIKeyQuerySet(models.QuerySet):
    def active(self, now: datetime | None = None) -> APIKeyQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())

    def with_digest(self, digest: str, now: datetime | None = None) -> APIKeyQuerySet:
        """The key whose current secret, or previous secret still in its grace period,
        has this digest (both columns are uniquely indexed)."""
        return self.filter(
            Q(digest=digest)
            | Q(previous_digest=digest, previous_digest_expires_at__gt=now or timezone.now())
        )


class APIKey(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="api_keys"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_api_keys",
    )
    name = models.CharField(max_length=100)
    environment = models.CharField(max_length=4, choices=Environment.choices)
    permissions = models.JSONField(default=list, blank=True, help_text="Empty means all.")
    rate_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty means the plan's."
    )
    allowed_ips = models.JSONField(
        default=list, blank=True, help_text="Addresses or CIDR networks; empty means any."
    )
    # SHA-256 hex of the whole key; the key itself is never stored.
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=40)
    # After a regeneration: the replaced secret's digest, valid until the grace ends.
    previous_digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    previous_digest_expires_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    regenerated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = APIKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="apikey_org_recent"),
            # An organization's active keys are counted on every key creation (the
            # cap) and every SIWE sign-in (room for a key). Revoked keys pile up and
            # never come back, so this index holds only the live ones; the count
            # stays an index-only scan however many a big organization has revoked
            # or however stale the table's statistics are (with one organization
            # holding most rows at ANALYZE, the planner chose a sequential scan of
            # every key for each sign-in).
            models.Index(
                fields=["organization", "expires_at"],
                condition=Q(revoked_at__isnull=True),
                name="apikey_org_active",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(environment__in=Environment.values), name="apikey_environment_known"
            ),
            models.CheckConstraint(
                condition=Q(rate_limit__isnull=True) | Q(rate_limit__gte=1),
                name="apikey_rate_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        # Never anything secret: the hint is what the owner sees in lists anyway.
        return f"{self.name} ({self.hint})"

    def status_at(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at <= now:
            return KeyStatus.EXPIRED
        return KeyStatus.ACTIVE

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())

    @property
    def effective_rate_limit(self) -> int:
        """Requests per minute: the key's own limit, else its organization's plan."""
        return self.rate_limit or self.organization.rate_limit_per_minute


class EventAction(models.TextChoices):
    CREATED = "created", "Created"
    REGENERATED = "regenerated", "Regenerated"
    REVOKED = "revoked", "Revoked"
    NEW_ADDRESS = "new_address", "First use from a new address"


class APIKeyEvent(models.Model):
    """Append-only audit trail of a key: who did what, from where, when."""

    key = models.ForeignKey(APIKey, on_delete=models.PROTECT, related_name="events")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="api_key_events"
    )
    action = models.CharField(max_length=20, choices=EventAction.choices)
    # Who acted: a person (session, wallet), an API key (its own id when a key
    # revokes itself), both, or neither (an operator command).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_key = models.ForeignKey(
        APIKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "API key event"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=[a.value for a in EventAction]),
                name="apikey_event_action_known",
            ),
            # "First use from a new address" happens once per key and address.
            models.UniqueConstraint(
                fields=["key", "ip"],
                condition=Q(action="new_address"),
                name="apikey_event_new_address_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.key_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class KeyUsageDay(models.Model):
    """Requests per key per UTC day, for the dashboard's charts.

    Never written per request: the hot path counts in the shared cache and the
    counts are added here in batches (`apikeys.usage`)."""

    key = models.ForeignKey(APIKey, on_delete=models.PROTECT, related_name="usage_days")
    # Denormalised from the key so the organization's chart reads one index range.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField()
    requests = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "API key usage per day"
        constraints = [
            models.UniqueConstraint(fields=["key", "day"], name="key_usage_day_unique"),
        ]
        indexes = [models.Index(fields=["organization", "day"], name="key_usage_org_day")]

    def __str__(self) -> str:
        return f"{self.key_id} {self.day}: {self.requests}"
