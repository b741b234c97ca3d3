"""apikey_create's one-statement path on PostgreSQL (apikeys.capped) against what the
ORM path makes: the same rows, the same cap, the same refusals. On SQLite the same
tests check the ORM path, so the two paths are held to one set of expectations."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organization, User
from accounts.selectors import wallet_account_find_with
from apikeys import capped, keyformat
from apikeys.errors import KeyLimitReached
from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.selectors import active_key_count, key_room_annotations
from apikeys.services import apikey_create, apikey_revoke

pytestmark = pytest.mark.django_db


def columns(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_the_returned_key_is_the_stored_row_column_for_column(org, user):
    before = timezone.now()
    key, full = apikey_create(
        organization=org,
        created_by=user,
        name="gateway",
        permissions=["chat:write", "keys"],
        environment="test",
        rate_limit=120,
        allowed_ips=["10.0.0.0/8", "2001:db8::1"],
        actor_ip="192.0.2.7",
    )
    after = timezone.now()
    stored = APIKey.objects.get(pk=key.pk)
    assert columns(stored) == columns(key)
    assert stored.digest == hashlib.sha256(full.encode()).hexdigest()
    assert (stored.name, stored.environment, stored.rate_limit) == ("gateway", "test", 120)
    assert stored.permissions == ["chat:write", "keys"]
    assert stored.allowed_ips == ["10.0.0.0/8", "2001:db8::1"]
    assert stored.hint == keyformat.hint(full)
    assert (stored.organization_id, stored.created_by_id) == (org.pk, user.pk)
    assert before <= stored.created_at <= after
    assert before + timedelta(days=90) <= stored.expires_at <= after + timedelta(days=90)
    assert stored.revoked_at is stored.previous_digest is stored.last_used_at is None
    assert key._state.adding is False

    event = APIKeyEvent.objects.get(key=key)
    assert event.action == EventAction.CREATED
    assert (event.organization_id, event.actor_id, event.actor_key_id) == (org.pk, user.pk, None)
    assert event.ip == "192.0.2.7"
    assert event.details == {"name": "gateway", "environment": "test"}
    assert before <= event.created_at <= after


def test_the_cap_counts_only_keys_neither_revoked_nor_expired(org, user, settings):
    settings.API_KEY_MAX_ACTIVE = 2
    revoked, _ = apikey_create(organization=org, created_by=user, name="revoked")
    apikey_revoke(key=revoked)
    expired, _ = apikey_create(organization=org, created_by=user, name="expired")
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    apikey_create(organization=org, created_by=user, name="one")
    apikey_create(organization=org, created_by=user, name="two")
    keys, events = APIKey.objects.count(), APIKeyEvent.objects.count()

    with pytest.raises(KeyLimitReached) as refused:
        apikey_create(organization=org, created_by=user, name="three")
    assert refused.value.details == {"limit": 2}
    assert (APIKey.objects.count(), APIKeyEvent.objects.count()) == (keys, events)


def test_another_organizations_keys_do_not_count(org, user, other_org, settings):
    settings.API_KEY_MAX_ACTIVE = 1
    apikey_create(organization=other_org, name="theirs")
    apikey_create(organization=org, created_by=user, name="ours")
    assert APIKey.objects.filter(organization=org).count() == 1


def test_an_unknown_organization_is_refused_and_writes_nothing():
    with pytest.raises(Organization.DoesNotExist):
        apikey_create(organization=uuid.uuid4(), name="orphan")
    assert (APIKey.objects.count(), APIKeyEvent.objects.count()) == (0, 0)


@pytest.mark.postgresql  # the one statement's savepoint; the ORM path has atomic's own
def test_a_failed_insert_leaves_the_callers_transaction_usable(org, user):
    key, _ = apikey_create(organization=org, created_by=user, name="first")
    # A second key with the first one's digest: the unique index refuses it.
    twin = APIKey(
        organization_id=org.pk,
        created_by_id=user.pk,
        name="second",
        environment=key.environment,
        digest=key.digest,
        hint=key.hint,
        expires_at=key.expires_at,
    )
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            capped.insert_under_cap(
                twin,
                cap=25,
                now=timezone.now(),
                actor_id=user.pk,
                actor_key_id=None,
                ip=None,
                details={},
            )
        # The caller's transaction goes on: the failure rolled back to a savepoint.
        assert APIKey.objects.filter(organization=org).count() == 1
    assert APIKeyEvent.objects.filter(key__organization=org).count() == 1


WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def room_of(replaceable_name: str | None) -> dict:
    """The room as a SIWE sign-in reads it: with the wallet's account, in one query."""
    found, room = wallet_account_find_with(
        address=WALLET, annotate=key_room_annotations(replaceable_name=replaceable_name)
    )
    assert found is not None and found[1] is not None
    return room


def test_room_annotations_agree_with_the_orm(org, user, settings):
    settings.API_KEY_MAX_ACTIVE = 10
    User.objects.filter(pk=user.pk).update(wallet_address=WALLET)
    apikey_create(organization=org, created_by=user, name="SIWE sign-in")
    gone, _ = apikey_create(organization=org, created_by=user, name="SIWE sign-in")
    apikey_revoke(key=gone)
    apikey_create(organization=org, created_by=user, name="other")
    assert room_of("SIWE sign-in") == {"keys_active": 2, "keys_replaceable": True}
    assert room_of("nothing") == {"keys_active": 2, "keys_replaceable": False}
    assert room_of(None) == {"keys_active": active_key_count(org)}


def test_what_a_key_costs_the_database(org, user, django_assert_num_queries):
    # In a test every call runs inside the test's transaction, so BEGIN/COMMIT are
    # SAVEPOINT/RELEASE. On PostgreSQL: SAVEPOINT, the one statement, RELEASE (alone
    # in production: one round trip). Elsewhere: SAVEPOINT, the organization's
    # lock, the count, the key, its event, RELEASE.
    on_postgresql = connection.vendor == "postgresql"
    with django_assert_num_queries(3 if on_postgresql else 6) as captured:
        apikey_create(organization=org, created_by=user, name="one")
    made_by = [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]]
    if on_postgresql:
        assert len(made_by) == 1
        assert "apikeys_active_count_locked" in made_by[0]
        assert "INSERT INTO apikeys_apikeyevent" in made_by[0]
    else:
        assert len(made_by) == 2


@pytest.mark.postgresql  # the plan is PostgreSQL's; SQLite has no statistics to go stale
def test_counting_active_keys_reads_only_the_active_key_index(org, user, other_org):
    # One organization holds every key when the statistics are taken, all revoked
    # (a big customer's history): PostgreSQL then believes any organization has
    # that many rows, and without the partial index it read the whole table for
    # each count, on every SIWE sign-in.
    now = timezone.now()
    APIKey.objects.bulk_create(
        APIKey(
            organization=other_org,
            name="old",
            digest=hashlib.sha256(f"revoked-{n}".encode()).hexdigest(),
            hint="ek_live_old",
            environment="live",
            expires_at=now + timedelta(days=90),
            revoked_at=now,
        )
        for n in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE apikeys_apikey")
    apikey_create(organization=org, created_by=user, name="SIWE sign-in")

    User.objects.filter(pk=user.pk).update(wallet_address=WALLET)

    with CaptureQueriesContext(connection) as captured:
        room = room_of("SIWE sign-in")
    # The room is a subquery correlated with the wallet's organization: planned for
    # any organization, not this one, so the skewed statistics are all it has to
    # go on.
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + captured.captured_queries[-1]["sql"])
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "apikey_org_active" in plan, plan
    assert "Seq Scan on apikeys_apikey" not in plan, plan
    assert room == {"keys_active": 1, "keys_replaceable": True}
