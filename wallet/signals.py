"""Drop a wallet's cached principal when what it was built from changes.

Cached: (user id, organization id, plan rate limit) per wallet address
(wallet.principals). It changes when the user is saved (deactivated, wallet
changed), a membership is added or removed, or an organization's plan changes.
Writes here are rare (admin, sign-up), so each drops every affected entry.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from accounts.models import Membership, Organization, User
from config import cache as shared_cache
from wallet.principals import principal_cache_key


def _forget(addresses: set[str | None]) -> None:
    keys = [principal_cache_key(a) for a in addresses if a]
    if keys:
        # After commit: dropped earlier, a concurrent request could refill the
        # entry from the rows as they were before this transaction.
        transaction.on_commit(lambda: shared_cache.forget(*keys))


@receiver(pre_save, sender=User, dispatch_uid="wallet_user_pre_save")
def _remember_old_wallet(sender, instance: User, raw: bool = False, update_fields=None, **kwargs):
    # A changed address must also drop the entry of the old one.
    if (
        raw
        or instance._state.adding
        or (update_fields is not None and not {"wallet_address", "is_active"} & set(update_fields))
    ):
        instance._wallet_before = None  # type: ignore[attr-defined]
        return
    instance._wallet_before = (  # type: ignore[attr-defined]
        User.objects.filter(pk=instance.pk).values_list("wallet_address", flat=True).first()
    )


@receiver(post_save, sender=User, dispatch_uid="wallet_user_saved")
def _user_saved(sender, instance: User, raw: bool = False, update_fields=None, **kwargs):
    if raw or (
        update_fields is not None and not {"wallet_address", "is_active"} & set(update_fields)
    ):
        return
    _forget({instance.wallet_address, getattr(instance, "_wallet_before", None)})


@receiver(post_delete, sender=User, dispatch_uid="wallet_user_deleted")
def _user_deleted(sender, instance: User, **kwargs):
    _forget({instance.wallet_address})


@receiver(post_save, sender=Membership, dispatch_uid="wallet_membership_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="wallet_membership_deleted")
def _membership_changed(sender, instance: Membership, raw: bool = False, **kwargs):
    if raw:
        return
    address = User.objects.filter(pk=instance.user_id).values_list("wallet_address", flat=True)
    _forget({address.first()})


@receiver(post_save, sender=Organization, dispatch_uid="wallet_organization_saved")
def _organization_saved(sender, instance: Organization, created: bool, raw: bool = False, **kw):
    if raw or created:
        return
    owners = User.objects.filter(
        memberships__organization=instance, wallet_address__isnull=False
    ).values_list("wallet_address", flat=True)
    _forget(set(owners))
