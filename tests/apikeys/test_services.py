from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.principal import AuthMethod
from apikeys import keyformat
from apikeys.check import KeyCode, apikey_verify
from apikeys.errors import KeyLimitReached
from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.services import apikey_regenerate, apikey_revoke
from config.errors import Conflict, ValidationFailed
from tests.own_cache import clear_own_keys

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_stores_only_digest_and_hint(make_key, org, user):
    key, full = make_key(permissions=["chat:write", "keys"], rate_limit=100)
    key.refresh_from_db()
    assert key.digest == keyformat.digest(full)
    assert key.hint == keyformat.hint(full)
    assert key.organization == org
    assert key.created_by == user
    assert key.permissions == ["chat:write", "keys"]
    assert key.rate_limit == 100
    assert key.environment == "live"
    assert key.status == "active"
    # Default expiry: 90 days.
    assert abs((key.expires_at - timezone.now()) - timedelta(days=90)) < timedelta(minutes=1)
    event = APIKeyEvent.objects.get(key=key)
    assert (event.action, event.actor_id) == (EventAction.CREATED, user.pk)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"permissions": ["root"]}, "permissions"),
        ({"permissions": "chat"}, "permissions"),
        ({"environment": "prod"}, "environment"),
        ({"rate_limit": 0}, "rateLimit"),
        ({"rate_limit": 10**9}, "rateLimit"),
        ({"rate_limit": True}, "rateLimit"),
        ({"allowed_ips": ["not-an-ip"]}, "allowedIps"),
        ({"expires_at": -timedelta(seconds=1)}, "expiresAt"),
        ({"expires_at": timedelta(days=366)}, "expiresAt"),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(make_key, kwargs, field):
    # Expiry cases are offsets, turned into instants here: never at collection.
    if isinstance(kwargs.get("expires_at"), timedelta):
        kwargs = {**kwargs, "expires_at": timezone.now() + kwargs["expires_at"]}
    with pytest.raises(ValidationFailed) as info:
        make_key(**kwargs)
    assert list(info.value.details["fields"]) == [field]
    assert APIKey.objects.count() == 0


def test_allowed_ips_are_normalised(make_key):
    key, _ = make_key(allowed_ips=["10.0.0.7/8", "192.168.1.1", "2001:db8::/32"])
    assert key.allowed_ips == ["10.0.0.0/8", "192.168.1.1", "2001:db8::/32"]


def test_active_key_cap(make_key, settings):
    settings.API_KEY_MAX_ACTIVE = 3
    keys = [make_key()[0] for _ in range(3)]
    with pytest.raises(KeyLimitReached):
        make_key()
    apikey_revoke(key=keys[0])
    make_key()  # a revoked key frees its place
    assert APIKey.objects.count() == 4


def test_replacing_oldest_retires_nothing_below_the_cap(make_key, settings):
    settings.API_KEY_MAX_ACTIVE = 2
    make_key(replacing_oldest="why")
    make_key(replacing_oldest="why")
    assert APIKey.objects.active().count() == 2
    assert not APIKeyEvent.objects.filter(action=EventAction.REVOKED).exists()


def test_at_the_cap_replacing_oldest_retires_the_oldest_key_of_the_same_name(
    make_key, org, settings
):
    settings.API_KEY_MAX_ACTIVE = 3
    oldest, _ = make_key(name="sign-in")
    younger, _ = make_key(name="sign-in")
    other, _ = make_key(name="other")
    key, _ = make_key(name="sign-in", replacing_oldest="make room")
    oldest.refresh_from_db()
    assert oldest.revoked_at is not None
    event = APIKeyEvent.objects.get(key=oldest, action=EventAction.REVOKED)
    assert event.details == {"reason": "make room"}
    assert set(APIKey.objects.active()) == {younger, other, key}


def test_at_the_cap_replacing_oldest_without_a_key_of_that_name_is_refused(make_key, settings):
    settings.API_KEY_MAX_ACTIVE = 2
    make_key()
    make_key()
    with pytest.raises(KeyLimitReached):
        make_key(name="over", replacing_oldest="make room")
    assert not APIKey.objects.filter(name="over").exists()
    assert APIKey.objects.active().count() == 2
    assert not APIKeyEvent.objects.filter(action=EventAction.REVOKED).exists()


def test_verify_valid_key_gives_principal(make_key, org, user):
    key, full = make_key(permissions=["chat"], environment="test")
    check = apikey_verify(full, ip="127.0.0.1")
    assert check.code is KeyCode.VALID
    principal = check.key.principal()
    assert principal.method is AuthMethod.API_KEY
    assert principal.key_id == key.id
    assert principal.organization_id == org.id
    assert principal.user_id == user.id
    assert principal.environment == "test"
    assert principal.permissions == frozenset({"chat"})
    assert principal.rate_limit == 60  # the free plan's
    assert check.rate.limit == 60 and check.rate.remaining == 59


def test_verify_malformed_and_unknown(make_key):
    assert apikey_verify("nope").code is KeyCode.NOT_FOUND
    assert apikey_verify("nope").malformed
    unknown = keyformat.generate()
    check = apikey_verify(unknown)
    assert (check.code, check.malformed, check.key) == (KeyCode.NOT_FOUND, False, None)
    assert check.hint == keyformat.hint(unknown)


def test_verify_expired_revoked_forbidden(make_key):
    expired, expired_full = make_key()
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    clear_own_keys()
    assert apikey_verify(expired_full).code is KeyCode.EXPIRED

    revoked, revoked_full = make_key()
    assert apikey_verify(revoked_full).valid  # now cached
    apikey_revoke(key=revoked)
    assert apikey_verify(revoked_full).code is KeyCode.REVOKED

    _, fenced = make_key(allowed_ips=["10.0.0.0/8"])
    assert apikey_verify(fenced, ip="10.1.2.3").valid
    assert apikey_verify(fenced, ip="192.168.0.1").code is KeyCode.FORBIDDEN
    assert apikey_verify(fenced).code is KeyCode.FORBIDDEN


def test_regenerate_without_grace_kills_old_secret(make_key):
    key, old = make_key()
    assert apikey_verify(old).valid
    same, new = apikey_regenerate(key=key)
    assert same.id == key.id and new != old
    assert apikey_verify(old).code is KeyCode.NOT_FOUND
    assert apikey_verify(new).valid
    assert apikey_verify(new).key.key_id == key.id


def test_regenerate_with_grace_then_revoke_ends_both(make_key):
    key, old = make_key()
    assert apikey_verify(old).valid
    _, new = apikey_regenerate(key=key, grace_period_seconds=3600)
    assert apikey_verify(old).valid
    assert apikey_verify(new).valid
    apikey_revoke(key=key)
    assert apikey_verify(old).code is KeyCode.REVOKED
    assert apikey_verify(new).code is KeyCode.REVOKED


def test_regenerate_grace_ends(make_key):
    key, old = make_key()
    apikey_regenerate(key=key, grace_period_seconds=60)
    APIKey.objects.filter(pk=key.pk).update(previous_digest_expires_at=timezone.now())
    clear_own_keys()
    assert apikey_verify(old).code is KeyCode.NOT_FOUND


def test_regenerate_refuses_bad_grace_and_revoked(make_key):
    key, _ = make_key()
    for bad in (-1, 86401, "60", True):
        with pytest.raises(ValidationFailed):
            apikey_regenerate(key=key, grace_period_seconds=bad)
    apikey_revoke(key=key)
    with pytest.raises(Conflict):
        apikey_regenerate(key=key)


def test_revoke_is_idempotent_and_audited_once(make_key, user):
    key, _ = make_key()
    apikey_revoke(key=key, actor_id=user.pk, actor_ip="10.0.0.1")
    apikey_revoke(key=key, actor_id=user.pk)
    events = APIKeyEvent.objects.filter(key=key, action=EventAction.REVOKED)
    assert [(e.actor_id, e.ip) for e in events] == [(user.pk, "10.0.0.1")]


def test_last_used_written_once_a_minute_and_new_address_audited_once(make_key):
    key, full = make_key()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            assert apikey_verify(full, ip="10.0.0.1").valid
    updates = [q for q in queries if q["sql"].startswith('UPDATE "apikeys_apikey"')]
    assert len(updates) == 1
    # The per-day usage count is moved in the same once-a-minute batch.
    usage = [q for q in queries if "apikeys_keyusageday" in q["sql"]]
    assert [q["sql"].split()[0] for q in usage] == ["UPDATE", "INSERT"]
    key.refresh_from_db()
    assert key.last_used_ip == "10.0.0.1"
    assert key.last_used_at is not None
    assert apikey_verify(full, ip="10.0.0.2").valid
    assert apikey_verify(full, ip="10.0.0.2").valid
    addresses = APIKeyEvent.objects.filter(key=key, action=EventAction.NEW_ADDRESS)
    assert sorted(e.ip for e in addresses) == ["10.0.0.1", "10.0.0.2"]


def test_warm_verify_makes_no_query(make_key, django_assert_num_queries):
    _, full = make_key()
    assert apikey_verify(full, ip="10.0.0.1").valid
    with django_assert_num_queries(0):
        assert apikey_verify(full, ip="10.0.0.1").valid


def test_malformed_key_needs_no_io(django_assert_num_queries, settings):
    settings.CACHES = {"default": {"BACKEND": "tests.refusing_cache.RefusingCache"}}
    with django_assert_num_queries(0):
        for raw in ["", "ek_live_x", keyformat.generate()[:-1] + "0", "x" * 10_000]:
            check = apikey_verify(raw, ip="10.0.0.1", failures_from="10.0.0.1")
            assert check.malformed


def test_failure_limit_locks_out_lookups_but_not_cached_valid_keys(
    make_key, settings, django_assert_num_queries
):
    settings.AUTH_FAILURE_RATE = "3/m"
    _, good = make_key()
    assert apikey_verify(good, failures_from="10.9.9.9").valid  # cached now
    for _ in range(3):
        check = apikey_verify(keyformat.generate(), failures_from="10.9.9.9")
        assert (check.code, check.locked_out) == (KeyCode.NOT_FOUND, False)
    with django_assert_num_queries(0):
        check = apikey_verify(keyformat.generate(), failures_from="10.9.9.9")
        assert check.locked_out
        assert apikey_verify(good, failures_from="10.9.9.9").valid
    # Another address is not affected.
    assert not apikey_verify(keyformat.generate(), failures_from="10.9.9.8").locked_out


def test_full_key_hint_never_in_str(make_key):
    key, full = make_key()
    assert full not in str(key) and full not in repr(key)


def test_a_stale_fill_cannot_undo_a_revocation(make_key):
    """A request that read the row just before the revocation committed tries to
    cache the old "valid" record afterwards: `add` loses to the published record."""
    from apikeys import keycache

    key, full = make_key()
    stale = keycache.build_record(
        APIKey.objects.select_related("organization").get(pk=key.pk), key.digest
    )
    apikey_revoke(key=key)  # publishes the revoked record on commit
    keycache.fill(key.digest, stale)
    assert apikey_verify(full).code is KeyCode.REVOKED


def test_records_hold_no_secret(make_key):
    from apikeys import keycache

    key, full = make_key()
    record = keycache.build_record(
        APIKey.objects.select_related("organization").get(pk=key.pk), key.digest
    )
    assert full not in repr(record)
    assert set(record) == {
        "v",
        "id",
        "org",
        "user",
        "env",
        "perms",
        "rl",
        "ips",
        "exp",
        "hint",
        "rev",
        "ctr",
    }
