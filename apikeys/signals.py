"""Keep cached key records honest when something they copied changes, and keys no
stronger than the people who made them."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from accounts.models import Membership, Organization, User
from apikeys.services import apikeys_revoke_created_by, forget_organization_keys


@receiver(post_save, sender=Organization, dispatch_uid="apikeys_plan_changed")
def organization_saved(sender, instance: Organization, created: bool, raw: bool = False, **kw):
    """A plan or custom limit may have changed: the keys' cached rate limits are stale.
    (Saving an organization is rare: one query plus one cache call is fine.)"""
    if created or raw:
        return
    org_id = instance.pk
    transaction.on_commit(lambda: forget_organization_keys(org_id))


# A deactivated user, or one whose membership is removed, loses access at once, and
# so do the keys they created, on every server process (SPEC §1). The keys are
# revoked (not merely hidden), so the write path publishes them to the shared cache
# and the hot path needs no extra query. (QuerySet.update() sends no signals: an
# operator deactivates users through the admin or User.save().)


@receiver(post_save, sender=User, dispatch_uid="apikeys_creator_deactivated")
def user_saved(sender, instance: User, created: bool, raw: bool = False, **kw):
    if raw or created or instance.is_active:
        return
    apikeys_revoke_created_by(user_id=instance.pk, reason="Its creator was deactivated")


@receiver(pre_delete, sender=User, dispatch_uid="apikeys_creator_deleted")
def user_deleted(sender, instance: User, **kw):
    # Before the delete: it sets created_by to NULL, which would make the keys look
    # like an operator's (belonging to no one).
    apikeys_revoke_created_by(user_id=instance.pk, reason="Its creator was deleted")


@receiver(post_delete, sender=Membership, dispatch_uid="apikeys_creator_left")
def membership_deleted(sender, instance: Membership, **kw):
    apikeys_revoke_created_by(
        user_id=instance.user_id,
        organization_id=instance.organization_id,
        reason="Its creator's membership was removed",
    )
