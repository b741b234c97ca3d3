"""Keep cached key records honest when something they copied changes."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Organization
from apikeys.services import forget_organization_keys


@receiver(post_save, sender=Organization, dispatch_uid="apikeys_plan_changed")
def organization_saved(sender, instance: Organization, created: bool, raw: bool = False, **kw):
    """A plan or custom limit may have changed: the keys' cached rate limits are stale.
    (Saving an organization is rare: one query plus one cache call is fine.)"""
    if created or raw:
        return
    org_id = instance.pk
    transaction.on_commit(lambda: forget_organization_keys(org_id))
