"""Wallet accounts: address forms, find-or-create, the one sign-up bonus."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from eth_account import Account

from accounts.models import Membership, Organization, Role, User
from accounts.selectors import wallet_account_find
from accounts.wallet_address import checksum_address
from billing.models import EntryKind, LedgerEntry
from billing.services import balance_micros
from config.errors import ValidationFailed
from tests.helpers import in_parallel, run_python
from wallet.accounts import wallet_account_get_or_create, wallet_account_open

ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # the EIP-55 test vector


def test_checksummed_is_kept():
    assert checksum_address(ADDRESS) == ADDRESS


def test_lowercase_is_checksummed():
    assert checksum_address(ADDRESS.lower()) == ADDRESS


@pytest.mark.parametrize(
    "value",
    [
        "0x" + ADDRESS[2:].upper(),  # no checksum, looks like one
        ADDRESS[:-1] + ("D" if ADDRESS[-1] == "d" else "d"),  # wrong checksum
        ADDRESS[2:],  # no 0x
        ADDRESS + "00",
        ADDRESS[:-2],
        "0x" + "g" * 40,
        "0X" + ADDRESS[2:].lower(),
        "0x" + "é" * 40,
        "",
        None,
        42,
        ["0x"],
    ],
)
def test_anything_else_is_a_400(value):
    with pytest.raises(ValidationFailed) as info:
        checksum_address(value)
    assert info.value.status_code == 400
    assert info.value.code == "VALIDATION_ERROR"
    assert "address" in info.value.details["fields"]


@pytest.mark.django_db
def test_first_sign_in_creates_user_org_membership_and_bonus():
    user, org, created = wallet_account_get_or_create(address=ADDRESS.lower())
    assert created is True
    assert user.username == ADDRESS.lower()
    assert user.wallet_address == ADDRESS
    assert not user.has_usable_password()
    assert org.slug == ADDRESS.lower()
    assert org.plan == "free"
    assert Membership.objects.get(user=user).organization == org
    assert Membership.objects.get(user=user).role == Role.OWNER
    entry = LedgerEntry.objects.get(organization=org)
    assert entry.kind == EntryKind.SIGNUP_BONUS
    assert entry.amount_micros == 5_000_000
    assert entry.reference == f"signup:{ADDRESS}"
    assert balance_micros(organization=org) == 5_000_000


@pytest.mark.django_db
def test_second_sign_in_finds_the_same_account():
    first = wallet_account_get_or_create(address=ADDRESS)
    again = wallet_account_get_or_create(address=ADDRESS.lower())
    assert again == (first[0], first[1], False)
    assert User.objects.count() == 1
    assert Organization.objects.count() == 1
    assert LedgerEntry.objects.count() == 1


@pytest.mark.django_db
@override_settings(INITIAL_FREE_CREDITS=__import__("decimal").Decimal("0"))
def test_zero_free_credits_writes_no_ledger_row():
    _, org, _ = wallet_account_get_or_create(address=ADDRESS)
    assert LedgerEntry.objects.count() == 0
    assert balance_micros(organization=org) == 0


@pytest.mark.django_db
@override_settings(INITIAL_FREE_CREDITS=__import__("decimal").Decimal("2.5"))
def test_free_credits_follow_the_setting():
    _, org, _ = wallet_account_get_or_create(address=ADDRESS)
    assert balance_micros(organization=org) == 2_500_000


@pytest.mark.django_db
def test_bad_address_changes_nothing():
    with pytest.raises(ValidationFailed):
        wallet_account_get_or_create(address="0x" + ADDRESS[2:].upper())
    assert User.objects.count() == 0
    assert Organization.objects.count() == 0


@pytest.mark.django_db
def test_taken_slug_gets_a_suffix():
    Organization.objects.create(name="squatter", slug=ADDRESS.lower())
    _, org, created = wallet_account_get_or_create(address=ADDRESS)
    assert created
    assert org.slug.startswith(ADDRESS.lower() + "-")


@pytest.mark.django_db
def test_taken_username_gets_a_suffix():
    User.objects.create_user(username=ADDRESS.lower())
    user, _, created = wallet_account_get_or_create(address=ADDRESS)
    assert created
    assert user.username.startswith(ADDRESS.lower() + "-")
    assert user.wallet_address == ADDRESS


@pytest.mark.django_db
def test_user_without_an_owned_org_gets_one_but_no_second_bonus():
    user, org, _ = wallet_account_get_or_create(address=ADDRESS)
    Membership.objects.filter(user=user).delete()
    again_user, new_org, created = wallet_account_get_or_create(address=ADDRESS)
    assert again_user == user and created is False
    assert new_org != org
    assert LedgerEntry.objects.count() == 1


# `found`: the caller's own wallet_account_find answer, not looked up again
# (wallet_account_open).


@pytest.mark.django_db
def test_an_account_found_complete_is_returned_without_a_query(django_assert_num_queries):
    user, org, _ = wallet_account_get_or_create(address=ADDRESS)
    found = wallet_account_find(address=ADDRESS)
    with django_assert_num_queries(0):
        assert wallet_account_open(address=ADDRESS, found=found) == (
            user,
            org,
            False,
        )


@pytest.mark.django_db
def test_nothing_found_creates_the_account_without_looking_again():
    found = wallet_account_find(address=ADDRESS)
    assert found is None
    with CaptureQueriesContext(connection) as captured:
        user, org, created = wallet_account_open(address=ADDRESS, found=found)
    lookups = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and "accounts_membership" in q["sql"]
    ]
    assert lookups == []
    assert created is True
    assert wallet_account_find(address=ADDRESS) == (user, org)


@pytest.mark.django_db
def test_a_stale_nothing_found_still_finds_the_account_made_since():
    found = wallet_account_find(address=ADDRESS)  # before another request made it
    user, org, _ = wallet_account_get_or_create(address=ADDRESS)
    again = wallet_account_open(address=ADDRESS, found=found)
    assert again == (user, org, False)
    assert User.objects.count() == 1
    assert Organization.objects.count() == 1
    assert LedgerEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_user_found_without_an_organization_gets_one():
    user, org, _ = wallet_account_get_or_create(address=ADDRESS)
    Membership.objects.filter(user=user).delete()
    found = wallet_account_find(address=ADDRESS)
    assert found == (user, None)
    again_user, new_org, created = wallet_account_open(address=ADDRESS, found=found)
    assert again_user == user and created is False
    assert new_org != org
    assert wallet_account_find(address=ADDRESS) == (user, new_org)


@pytest.mark.django_db
def test_unknown_wallet_is_none():
    assert wallet_account_find(address=ADDRESS) is None


@pytest.mark.django_db
def test_the_oldest_owned_organization_wins():
    user, first, _ = wallet_account_get_or_create(address=ADDRESS)
    later = Organization.objects.create(name="later", slug="later")
    Membership.objects.create(user=user, organization=later, role=Role.OWNER)
    member_only = Organization.objects.create(name="member", slug="member")
    Membership.objects.create(user=user, organization=member_only, role=Role.MEMBER)
    assert wallet_account_find(address=ADDRESS) == (user, first)


@pytest.mark.django_db
def test_an_account_with_an_organization_is_one_query(django_assert_num_queries):
    _user, org, _ = wallet_account_get_or_create(address=ADDRESS)
    with django_assert_num_queries(1):
        found = wallet_account_find(address=ADDRESS)
    with django_assert_num_queries(0):  # user and organization came with it
        assert (found[0].wallet_address, found[1].slug) == (ADDRESS, org.slug)


def _columns(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.mark.django_db
def test_the_found_rows_are_what_the_orm_reads_column_for_column():
    # wallet_account_find writes its own statement; what it hands back must be the
    # rows as the ORM reads them, types included (aware datetimes, UUIDs and
    # booleans on SQLite too), and instances that save as updates.
    user, org, _ = wallet_account_get_or_create(address=ADDRESS)
    User.objects.filter(pk=user.pk).update(
        last_login=timezone.now() - timedelta(hours=2), is_staff=True, email="w@example.com"
    )
    Organization.objects.filter(pk=org.pk).update(plan="enterprise", custom_rate_limit=77)
    found_user, found_org = wallet_account_find(address=ADDRESS)
    assert _columns(found_user) == _columns(User.objects.get(pk=user.pk))
    assert _columns(found_org) == _columns(Organization.objects.get(pk=org.pk))
    assert found_user.last_login.tzinfo is not None and found_user.is_staff is True
    assert found_org.custom_rate_limit == 77 and found_org.rate_limit_per_minute == 77
    for instance in (found_user, found_org):
        assert (instance._state.adding, instance._state.db) == (False, "default")
    found_org.name = "Renamed"
    found_org.save()
    assert Organization.objects.count() == 1
    assert Organization.objects.get(pk=org.pk).name == "Renamed"


@pytest.mark.django_db
def test_a_wallet_without_an_organization_or_an_account_is_one_query(
    django_assert_num_queries,
):
    with django_assert_num_queries(1):
        assert wallet_account_find(address=ADDRESS) is None
    user, _org, _ = wallet_account_get_or_create(address=ADDRESS)
    Membership.objects.filter(user=user).delete()
    with django_assert_num_queries(1):
        found = wallet_account_find(address=ADDRESS)
    assert found == (user, None)
    assert _columns(found[0]) == _columns(User.objects.get(pk=user.pk))


@pytest.mark.django_db
def test_a_membership_that_is_not_ownership_is_no_organization():
    user, _org, _ = wallet_account_get_or_create(address=ADDRESS)
    Membership.objects.filter(user=user).update(role=Role.ADMIN)
    assert wallet_account_find(address=ADDRESS) == (user, None)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_first_sign_ins_make_one_account():
    address = Account.create().address
    # An exception in any thread fails the test (in_parallel re-raises it).
    results = in_parallel(20, lambda _: wallet_account_get_or_create(address=address))

    assert len(results) == 20
    assert sum(created for _, _, created in results) == 1
    assert len({user.pk for user, _, _ in results}) == 1
    assert len({org.pk for _, org, _ in results}) == 1
    assert User.objects.filter(wallet_address=address).count() == 1
    assert Organization.objects.count() == 1
    assert Membership.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.SIGNUP_BONUS).count() == 1
    assert balance_micros(organization=results[0][1]) == 5_000_000


@pytest.mark.parametrize("value", ["abc", "-1", "1.0000001", "NaN", "Infinity", "5 USD"])
def test_invalid_initial_free_credits_stops_start_up(value):
    proc = run_python(
        "-c",
        "import django; django.setup()",
        INITIAL_FREE_CREDITS=value,
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    assert proc.returncode != 0
    assert "ImproperlyConfigured: INITIAL_FREE_CREDITS must be" in proc.stderr
    assert repr(value) in proc.stderr


def test_valid_initial_free_credits_starts():
    proc = run_python(
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.INITIAL_FREE_CREDITS)",
        INITIAL_FREE_CREDITS="12.5",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "12.5"
