"""Credit balances and the append-only ledger that explains them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class CreditAccount(models.Model):
    """One per organization: the balance in micro-USD, never below zero."""

    organization = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="credit_account",
    )
    balance_micros = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_micros__gte=0), name="credit_balance_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"credits of {self.organization_id}"


class EntryKind(models.TextChoices):
    SIGNUP_BONUS = "signup_bonus", "Sign-up bonus"
    TOPUP = "topup", "Top-up"
    USAGE = "usage", "Usage"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Operator adjustment"


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[override]
        raise TypeError("The ledger is append-only.")

    def delete(self):  # type: ignore[override]
        raise TypeError("The ledger is append-only.")


class LedgerEntry(models.Model):
    """One change of a balance. Rows are written once and never changed."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    amount_micros = models.BigIntegerField(help_text="Signed: credits added are positive.")
    balance_after_micros = models.BigIntegerField()
    # Payment id, request id, ...: the same reference is never applied twice.
    reference = models.CharField(max_length=200, unique=True, null=True, blank=True)
    description = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["organization", "-id"], name="ledger_org_recent")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_micros=0), name="ledger_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after_micros__gte=0), name="ledger_balance_after_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_micros:+d} µUSD"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError("The ledger is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The ledger is append-only.")
