"""Credit balances and the append-only ledger that explains them."""

from __future__ import annotations

import uuid

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


class PaymentStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved (settling)"
    PENDING = "pending", "Pending (sent, not confirmed)"
    SETTLED = "settled", "Settled"
    FAILED = "failed", "Failed"


class PaymentKind(models.TextChoices):
    TOPUP = "topup", "Top-up"
    REQUEST = "request", "Pay-per-request"


class Payment(models.Model):
    """One x402 payment, from its reservation to its settlement on chain.

    (network, payer, nonce) is the EIP-3009 authorization's identity on chain:
    unique here, so the one request that inserts it is the only one that may
    settle it. Rows move forward only (reserved -> pending/settled/failed,
    pending -> settled/failed); a PostgreSQL trigger refuses anything else and
    every DELETE (migration 0002).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=PaymentKind.choices)
    status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.RESERVED
    )
    x402_version = models.PositiveSmallIntegerField()
    network = models.CharField(max_length=40, help_text="CAIP-2, e.g. eip155:8453")
    payer = models.CharField(max_length=42, help_text="Checksummed address of the signer")
    nonce = models.CharField(max_length=66, help_text="EIP-3009 authorization nonce, 0x-hex")
    asset = models.CharField(max_length=42)
    pay_to = models.CharField(max_length=42)
    amount_atomic = models.DecimalField(
        max_digits=78, decimal_places=0, help_text="In the asset's smallest unit"
    )
    credit_micros = models.BigIntegerField(help_text="Credits bought (top-ups), micro-USD")
    # Whose credits: known at once for a signed-in caller, else the wallet below,
    # whose account is found or created when the payment settles.
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )
    beneficiary = models.CharField(max_length=42, blank=True)
    resource = models.CharField(max_length=200, blank=True)
    # NULL, not "": the forward-only trigger reads "not set yet" as NULL.
    tx_hash = models.CharField(max_length=66, null=True, blank=True)  # noqa: DJ001
    ledger_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="payment"
    )
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "payer", "nonce"], name="payment_authorization_once"
            ),
            models.CheckConstraint(condition=Q(credit_micros__gte=0), name="payment_credit_gte_0"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="payment_status_age")]

    def __str__(self) -> str:
        return f"payment {self.id} ({self.status})"

    def delete(self, *args, **kwargs):
        raise TypeError("Payment records are kept.")
