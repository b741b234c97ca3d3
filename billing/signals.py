"""Every organization has a credit account, however it was created (admin too)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Organization
from billing.models import CreditAccount


@receiver(post_save, sender=Organization, dispatch_uid="billing_open_account")
def open_credit_account(sender, instance: Organization, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        CreditAccount.objects.get_or_create(organization=instance)
