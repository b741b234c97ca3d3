"""Item 1 and 2 of issue 9 (SPEC §2 "No credential can make a key stronger than
itself"): a key managing keys may not create, regenerate or revoke a key with a
permission it lacks, another environment (a test key), a later expiry, a wider
allow-list or a higher rate limit; a key's own limit never exceeds its plan's.
Each refusal is 403 FORBIDDEN and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Plan
from accounts.services import organization_create
from apikeys.models import APIKey, APIKeyEvent, EventAction
from tests.security.conftest import KEYS, as_key, as_session, error, send

pytestmark = pytest.mark.django_db(transaction=True)


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def snapshot(key: APIKey) -> tuple:
    key.refresh_from_db()
    return (key.digest, key.previous_digest, key.revoked_at, key.regenerated_at)


def whoami(full: str) -> int:
    return as_key(full).get("/api/v1/dashboard").status_code


# --- item 1: regenerate and revoke obey the rule create obeys -----------------------


def test_keys_only_key_cannot_regenerate_a_full_key(make_key):
    _, caller = make_key(name="key manager", permissions=["keys"])
    target, target_full = make_key(name="production", permissions=[])
    before = snapshot(target)

    r = send(
        as_key(caller), "POST", f"{KEYS}/{target.id}/regenerate", {"gracePeriodSeconds": 86400}
    )

    assert error(r) == (403, "FORBIDDEN")
    assert "key" not in r.json()
    assert snapshot(target) == before
    assert not APIKeyEvent.objects.filter(key=target, action=EventAction.REGENERATED).exists()
    assert whoami(target_full) == 200


def test_keys_only_key_cannot_revoke_a_full_key(make_key):
    _, caller = make_key(name="key manager", permissions=["keys"])
    target, target_full = make_key(name="production", permissions=["chat", "billing"])
    before = snapshot(target)

    r = send(as_key(caller), "DELETE", f"{KEYS}/{target.id}")

    assert error(r) == (403, "FORBIDDEN")
    assert snapshot(target) == before
    assert whoami(target_full) == 200


@pytest.mark.parametrize("action", ["regenerate", "revoke"])
def test_test_key_cannot_touch_a_live_key(make_key, action):
    _, caller = make_key(name="sandbox", environment="test", permissions=[])
    target, target_full = make_key(name="production", environment="live", permissions=["chat"])
    before = snapshot(target)

    if action == "regenerate":
        r = send(as_key(caller), "POST", f"{KEYS}/{target.id}/regenerate", {})
    else:
        r = send(as_key(caller), "DELETE", f"{KEYS}/{target.id}")

    assert error(r) == (403, "FORBIDDEN")
    assert "key" not in r.json()
    assert snapshot(target) == before
    assert whoami(target_full) == 200


@pytest.mark.parametrize(
    "target_kwargs",
    [
        {"permissions": ["chat"], "expires_at": "later"},
        {"permissions": ["chat"], "allowed_ips": []},
        {"permissions": ["chat"], "rate_limit": 50},
    ],
    ids=["later-expiry", "wider-allow-list", "higher-rate-limit"],
)
def test_key_cannot_regenerate_a_key_stronger_in_any_way(make_key, target_kwargs):
    now = timezone.now()
    _, caller = make_key(
        name="bounded manager",
        permissions=["keys", "chat"],
        expires_at=now + timedelta(days=1),
        allowed_ips=["127.0.0.1"],
        rate_limit=20,
    )
    kwargs = dict(target_kwargs)
    if kwargs.get("expires_at") == "later":
        kwargs["expires_at"] = now + timedelta(days=30)
    else:
        kwargs["expires_at"] = now + timedelta(hours=1)
    kwargs.setdefault("allowed_ips", ["127.0.0.1"])
    kwargs.setdefault("rate_limit", 10)
    target, _ = make_key(name="target", **kwargs)
    before = snapshot(target)

    r = send(as_key(caller), "POST", f"{KEYS}/{target.id}/regenerate", {})

    assert error(r) == (403, "FORBIDDEN")
    assert snapshot(target) == before


def test_a_key_may_manage_keys_no_stronger_than_itself(make_key):
    """The control: the rule refuses only what it must."""
    _, caller = make_key(name="manager", permissions=["keys", "chat"])
    weaker, _ = make_key(name="weaker", permissions=["chat:read"])
    r = send(as_key(caller), "POST", f"{KEYS}/{weaker.id}/regenerate", {})
    assert r.status_code == 200, r.json()
    r = send(as_key(caller), "DELETE", f"{KEYS}/{weaker.id}")
    assert r.status_code == 200, r.json()

    _, sandbox = make_key(name="sandbox manager", environment="test", permissions=["keys"])
    test_target, _ = make_key(name="sandbox target", environment="test", permissions=["keys"])
    r = send(as_key(sandbox), "POST", f"{KEYS}/{test_target.id}/regenerate", {})
    assert r.status_code == 200, r.json()
    assert r.json()["key"].startswith("ek_test_")


def test_any_key_may_still_revoke_itself(make_key):
    own, full = make_key(name="chat only", permissions=["chat"], rate_limit=5)
    r = send(as_key(full), "DELETE", f"{KEYS}/{own.id}")
    assert r.status_code == 200, r.json()
    assert r.json()["apiKey"]["status"] == "revoked"


# --- item 2: a created key is capped by its creator and by its plan ------------------


def test_one_day_key_cannot_create_a_365_day_key(make_key):
    now = timezone.now()
    caller_row, caller = make_key(permissions=[], expires_at=now + timedelta(days=1))
    count = APIKey.objects.count()

    r = send(
        as_key(caller), "POST", KEYS, {"name": "long", "expiresAt": iso(now + timedelta(days=365))}
    )
    assert error(r) == (403, "FORBIDDEN")
    assert APIKey.objects.count() == count

    # Without an expiry the new key inherits the caller's, not the 90-day default.
    r = send(as_key(caller), "POST", KEYS, {"name": "default expiry"})
    assert r.status_code == 201, r.json()
    created = APIKey.objects.get(pk=r.json()["apiKey"]["id"])
    assert created.expires_at <= caller_row.expires_at


def test_restricted_key_cannot_create_an_unrestricted_key(make_key):
    _, caller = make_key(permissions=[], allowed_ips=["127.0.0.0/8"])
    count = APIKey.objects.count()

    for allowed in ([], ["10.0.0.0/8"], ["0.0.0.0/0"], ["126.0.0.0/7"]):
        r = send(as_key(caller), "POST", KEYS, {"name": "wide", "allowedIps": allowed})
        assert error(r) == (403, "FORBIDDEN"), allowed
    assert APIKey.objects.count() == count

    r = send(as_key(caller), "POST", KEYS, {"name": "inside", "allowedIps": ["127.0.0.1"]})
    assert r.status_code == 201, r.json()
    assert r.json()["apiKey"]["allowedIps"] == ["127.0.0.1"]
    r = send(as_key(caller), "POST", KEYS, {"name": "inherits"})
    assert r.status_code == 201, r.json()
    assert r.json()["apiKey"]["allowedIps"] == ["127.0.0.0/8"]


def test_slow_key_cannot_create_a_faster_key(make_key):
    _, caller = make_key(permissions=[], rate_limit=20)
    count = APIKey.objects.count()

    for limit in (1_000_000, 21):
        r = send(as_key(caller), "POST", KEYS, {"name": "fast", "rateLimit": limit})
        assert error(r) == (403, "FORBIDDEN"), limit
    assert APIKey.objects.count() == count

    r = send(as_key(caller), "POST", KEYS, {"name": "slower", "rateLimit": 5})
    assert r.status_code == 201, r.json()
    r = send(as_key(caller), "POST", KEYS, {"name": "inherits"})
    assert r.status_code == 201, r.json()
    assert r.json()["apiKey"]["rateLimit"] == 20


def test_key_rate_limit_cannot_exceed_its_plan(user, org, settings):
    free_limit = settings.PLAN_RATE_LIMITS[Plan.FREE]
    session = as_session(user)
    for limit in (1_000_000, free_limit + 1):
        r = send(session, "POST", KEYS, {"name": "fast", "rateLimit": limit})
        assert error(r) == (403, "FORBIDDEN"), limit
    assert not APIKey.objects.exists()
    r = send(session, "POST", KEYS, {"name": "at the plan", "rateLimit": free_limit})
    assert r.status_code == 201, r.json()


def test_enterprise_custom_limit_is_the_ceiling(make_key):
    org = organization_create(name="Big", slug="big", plan=Plan.ENTERPRISE, custom_rate_limit=5000)
    _, caller = make_key(organization=org, created_by=None, permissions=["keys", "chat"])
    r = send(
        as_key(caller), "POST", KEYS, {"name": "x", "permissions": ["chat"], "rateLimit": 5001}
    )
    assert error(r) == (403, "FORBIDDEN")
    r = send(
        as_key(caller), "POST", KEYS, {"name": "y", "permissions": ["chat"], "rateLimit": 5000}
    )
    assert r.status_code == 201, r.json()
