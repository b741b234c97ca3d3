from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import organization_create
from apikeys import keyformat
from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.services import apikey_create
from billing.services import credits_grant
from tests.helpers import in_parallel

pytestmark = pytest.mark.django_db(transaction=True)

KEY_FIELDS = {
    "id",
    "name",
    "hint",
    "environment",
    "permissions",
    "rateLimit",
    "allowedIps",
    "expiresAt",
    "createdAt",
    "lastUsedAt",
    "lastUsedIp",
    "revokedAt",
    "regeneratedAt",
    "status",
}
CSRF = "a" * 32


@pytest.fixture
def session(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def with_key(full):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=full)
    return client


def post(client, path, body=None):
    return client.post(path, body, format="json", headers={"X-CSRFToken": CSRF})


def keys_state():
    """Every key's secrets and revocation, and the audit trail's length: what a
    refused request must leave as it was."""
    rows = APIKey.objects.order_by("id").values_list(
        "id", "digest", "previous_digest", "revoked_at", "name", "permissions"
    )
    # A key's first use from an address is audited whatever the answer: not a change.
    events = APIKeyEvent.objects.exclude(action=EventAction.NEW_ADDRESS).count()
    return list(rows), events


def test_create_with_session(session, org, user):
    r = post(
        session,
        "/api/v1/api-keys",
        {
            "name": "ci deploy",
            "permissions": ["chat:write", "keys"],
            "rateLimit": 50,
            "environment": "test",
            "allowedIps": ["10.0.0.0/8"],
        },
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert set(body) == {"apiKey", "key"}
    assert set(body["apiKey"]) == KEY_FIELDS
    full = body["key"]
    assert keyformat.parse(full).environment == "test"
    assert body["apiKey"]["hint"] == keyformat.hint(full)
    assert body["apiKey"]["permissions"] == ["chat:write", "keys"]
    assert body["apiKey"]["rateLimit"] == 50
    assert body["apiKey"]["allowedIps"] == ["10.0.0.0/8"]
    assert body["apiKey"]["status"] == "active"
    assert body["apiKey"]["lastUsedAt"] is None
    key = APIKey.objects.get(pk=body["apiKey"]["id"])
    assert (key.organization_id, key.created_by_id) == (org.id, user.id)
    event = APIKeyEvent.objects.get(key=key)
    assert (event.action, event.actor_id, event.ip) == ("created", user.id, "127.0.0.1")
    # Never again: not in the list, not in the detail.
    listed = session.get("/api/v1/api-keys")
    assert listed.status_code == 200
    assert full not in listed.content.decode()
    assert listed.json()["count"] == 1
    assert listed.json()["results"][0]["id"] == str(key.id)
    detail = session.get(f"/api/v1/api-keys/{key.id}")
    assert detail.status_code == 200
    assert set(detail.json()["apiKey"]) == KEY_FIELDS
    assert full not in detail.content.decode()


def test_session_needs_csrf(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    r = client.post("/api/v1/api-keys", {"name": "x"}, format="json")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"
    assert APIKey.objects.count() == 0


def test_defaults(session):
    r = post(session, "/api/v1/api-keys", {"name": "plain"})
    assert r.status_code == 201
    key = r.json()["apiKey"]
    assert key["environment"] == "live"
    assert key["permissions"] == []
    assert key["rateLimit"] is None
    assert key["allowedIps"] == []
    expires = APIKey.objects.get(pk=key["id"]).expires_at
    assert abs(expires - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "permisions": ["chat"]}, "permisions"),
        ({"name": 123}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({}, "name"),
        ({"name": "x", "permissions": "chat"}, "permissions"),
        ({"name": "x", "permissions": ["root"]}, "permissions"),
        ({"name": "x", "permissions": [1]}, "permissions"),
        ({"name": "x", "rateLimit": "5"}, "rateLimit"),
        ({"name": "x", "rateLimit": 5.5}, "rateLimit"),
        ({"name": "x", "rateLimit": True}, "rateLimit"),
        ({"name": "x", "rateLimit": 0}, "rateLimit"),
        ({"name": "x", "rateLimit": 10**12}, "rateLimit"),
        ({"name": "x", "expiresAt": 12345}, "expiresAt"),
        ({"name": "x", "expiresAt": "tomorrow"}, "expiresAt"),
        ({"name": "x", "expiresAt": "2020-01-01T00:00:00Z"}, "expiresAt"),
        ({"name": "x", "expiresAt": "2999-01-01T00:00:00Z"}, "expiresAt"),
        ({"name": "x", "expiresAt": "2030-01-01T00:00:00"}, "expiresAt"),
        ({"name": "x", "environment": "prod"}, "environment"),
        ({"name": "x", "environment": ["live"]}, "environment"),
        ({"name": "x", "allowedIps": "10.0.0.1"}, "allowedIps"),
        ({"name": "x", "allowedIps": ["10.0.0.300"]}, "allowedIps"),
        ({"name": "x", "allowedIps": [None]}, "allowedIps"),
    ],
)
def test_bad_create_bodies_are_400_and_change_nothing(session, body, field):
    r = post(session, "/api/v1/api-keys", body)
    assert r.status_code == 400, r.json()
    error = r.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]["fields"]
    assert APIKey.objects.count() == 0
    assert APIKeyEvent.objects.count() == 0


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", '"name"', "null"])
def test_non_object_bodies(session, raw):
    r = session.post(
        "/api/v1/api-keys", raw, content_type="application/json", headers={"X-CSRFToken": CSRF}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert APIKey.objects.count() == 0


def test_expiry_bounds(session):
    in_365 = (timezone.now() + timedelta(days=365)).isoformat()
    r = post(session, "/api/v1/api-keys", {"name": "long", "expiresAt": in_365})
    assert r.status_code == 201
    in_366 = (timezone.now() + timedelta(days=366)).isoformat()
    before = keys_state()
    assert post(session, "/api/v1/api-keys", {"name": "x", "expiresAt": in_366}).status_code == 400
    assert keys_state() == before


def test_the_default_cap_is_25_active_keys(session, org):
    # No settings override: the default itself is under test.
    for i in range(25):
        apikey_create(organization=org, name=f"k{i}")
    before = keys_state()
    r = post(session, "/api/v1/api-keys", {"name": "one too many"})
    assert (r.status_code, r.json()) == (
        409,
        {
            "error": {
                "code": "KEY_LIMIT_REACHED",
                "message": "At most 25 active API keys per organization; revoke one first.",
                "details": {"limit": 25},
            }
        },
    )
    assert keys_state() == before


def test_key_with_keys_permission_manages_keys(org):
    manager, manager_full = apikey_create(organization=org, name="manager", permissions=["keys"])
    client = with_key(manager_full)
    r = client.post("/api/v1/api-keys", {"name": "child", "permissions": ["keys"]}, format="json")
    assert r.status_code == 201
    child_id = r.json()["apiKey"]["id"]
    event = APIKeyEvent.objects.get(key_id=child_id)
    assert (event.actor_id, event.actor_key_id) == (None, manager.id)
    assert client.get("/api/v1/api-keys").json()["count"] == 2
    assert client.get(f"/api/v1/api-keys/{child_id}").status_code == 200
    r = client.post(f"/api/v1/api-keys/{child_id}/regenerate", {}, format="json")
    assert r.status_code == 200
    assert client.delete(f"/api/v1/api-keys/{child_id}").json()["apiKey"]["status"] == "revoked"


def test_a_key_cannot_mint_a_stronger_key(org):
    _, chat_keys = apikey_create(organization=org, name="m", permissions=["keys", "chat"])
    client = with_key(chat_keys)
    before = keys_state()
    assert client.post("/api/v1/api-keys", {"name": "all"}, format="json").status_code == 403
    r = client.post("/api/v1/api-keys", {"name": "b", "permissions": ["billing"]}, format="json")
    assert r.status_code == 403
    assert keys_state() == before
    r = client.post("/api/v1/api-keys", {"name": "c", "permissions": ["chat:read"]}, format="json")
    assert r.status_code == 201
    _, sandbox = apikey_create(organization=org, name="t", environment="test")
    before = keys_state()
    r = with_key(sandbox).post("/api/v1/api-keys", {"name": "live one"}, format="json")
    assert r.status_code == 403
    assert keys_state() == before
    r = with_key(sandbox).post(
        "/api/v1/api-keys", {"name": "test one", "environment": "test"}, format="json"
    )
    assert r.status_code == 201


def test_key_without_keys_permission(org):
    own, own_full = apikey_create(organization=org, name="chat only", permissions=["chat"])
    other, _ = apikey_create(organization=org, name="other")
    client = with_key(own_full)
    forbidden = {"error": {"code": "FORBIDDEN", "message": "Insufficient permissions"}}
    before = keys_state()
    r = client.get("/api/v1/api-keys")
    assert (r.status_code, r.json()) == (403, forbidden)
    r = client.post("/api/v1/api-keys", {"name": "x"}, format="json")
    assert (r.status_code, r.json()) == (403, forbidden)
    r = client.delete(f"/api/v1/api-keys/{other.id}")
    assert (r.status_code, r.json()) == (403, forbidden)
    r = client.post(f"/api/v1/api-keys/{own.id}/regenerate")
    assert (r.status_code, r.json()) == (403, forbidden)
    assert keys_state() == before  # no key made, none revoked, no secret replaced
    # ...but it may revoke itself, and is then gone.
    r = client.delete(f"/api/v1/api-keys/{own.id}")
    assert r.status_code == 200
    assert r.json()["apiKey"]["status"] == "revoked"
    event = APIKeyEvent.objects.get(key=own, action=EventAction.REVOKED)
    assert event.actor_key_id == own.id
    r = client.get("/api/v1/dashboard")
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "API key has been revoked"


def test_other_organizations_keys_are_not_found(session, org):
    stranger = organization_create(name="Stranger", slug="stranger")
    theirs, _ = apikey_create(organization=stranger, name="theirs")
    not_found = {"error": {"code": "KEY_NOT_FOUND", "message": "API key not found."}}
    for path in [f"/api/v1/api-keys/{theirs.id}", "/api/v1/api-keys/not-a-uuid"]:
        assert (session.get(path).status_code, session.get(path).json()) == (404, not_found)
        r = session.delete(path, headers={"X-CSRFToken": CSRF})
        assert (r.status_code, r.json()) == (404, not_found)
        r = post(session, path + "/regenerate", {})
        assert (r.status_code, r.json()) == (404, not_found)
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert str(theirs.id) not in session.get("/api/v1/api-keys").content.decode()


def test_regenerate_over_http(session, org):
    key, old = apikey_create(organization=org, name="rotating")
    r = post(session, f"/api/v1/api-keys/{key.id}/regenerate", {"gracePeriodSeconds": 300})
    assert r.status_code == 200
    body = r.json()
    assert body["apiKey"]["id"] == str(key.id)
    assert body["apiKey"]["regeneratedAt"] is not None
    new = body["key"]
    assert new != old and body["apiKey"]["hint"] == keyformat.hint(new)
    assert with_key(old).get("/api/v1/dashboard").status_code == 200  # grace
    assert with_key(new).get("/api/v1/dashboard").status_code == 200
    r = post(session, f"/api/v1/api-keys/{key.id}/regenerate", {})
    newest = r.json()["key"]
    assert with_key(new).get("/api/v1/dashboard").status_code == 401
    assert with_key(newest).get("/api/v1/dashboard").status_code == 200


@pytest.mark.parametrize("grace", [-1, 86401, "60", 1.5, None])
def test_regenerate_bad_grace(session, org, grace):
    key, _ = apikey_create(organization=org, name="x")
    r = post(session, f"/api/v1/api-keys/{key.id}/regenerate", {"gracePeriodSeconds": grace})
    assert r.status_code == 400
    assert "gracePeriodSeconds" in r.json()["error"]["details"]["fields"]
    assert APIKey.objects.get(pk=key.pk).digest == key.digest


def test_regenerate_revoked_is_409(session, org):
    key, _ = apikey_create(organization=org, name="x")
    assert (
        session.delete(f"/api/v1/api-keys/{key.id}", headers={"X-CSRFToken": CSRF}).status_code
        == 200
    )
    r = post(session, f"/api/v1/api-keys/{key.id}/regenerate", {})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"


def test_statuses_in_list(session, org):
    apikey_create(organization=org, name="active")
    expired, _ = apikey_create(organization=org, name="expired")
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, _ = apikey_create(organization=org, name="revoked")
    session.delete(f"/api/v1/api-keys/{revoked.id}", headers={"X-CSRFToken": CSRF})
    statuses = {k["name"]: k["status"] for k in session.get("/api/v1/api-keys").json()["results"]}
    assert statuses == {"active": "active", "expired": "expired", "revoked": "revoked"}


def test_dashboard_with_key(org, user):
    credits_grant(organization=org, amount_micros=5_000_000)
    key, full = apikey_create(organization=org, created_by=user, name="k")
    apikey_create(organization=org, name="k2")
    r = with_key(full).get("/api/v1/dashboard")
    assert r.status_code == 200
    assert r.json() == {
        "user": {"id": str(user.id), "username": "alice", "walletAddress": None},
        "organization": {
            "id": str(org.id),
            "name": "Acme",
            "slug": "acme",
            "plan": "free",
            "rateLimit": 60,
        },
        "authMethod": "api_key",
        "keyId": str(key.id),
        "environment": "live",
        "credits": {"balance": "5.000000"},
        "keyCount": 2,
    }


def test_dashboard_with_session(session, org, user):
    r = session.get("/api/v1/dashboard")
    assert r.status_code == 200
    body = r.json()
    assert (body["authMethod"], body["keyId"], body["keyCount"]) == ("session", None, 0)
    assert body["credits"] == {"balance": "0.000000"}
    assert body["user"]["id"] == str(user.id)


def test_dashboard_without_credentials():
    r = APIClient().get("/api/v1/dashboard")
    assert r.status_code == 401
    assert r.json() == {
        "error": {"code": "UNAUTHORIZED", "message": "Invalid or missing authentication"}
    }


def test_openapi_describes_schemes_and_endpoints(client):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    schema = r.json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKeyBearer"]["scheme"] == "bearer"
    assert schemes["apiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same key in `X-API-Key` (wins over Bearer by default).",
    }
    assert "dashboardSession" in schemes
    paths = schema["paths"]
    assert set(paths["/api/v1/api-keys"]) >= {"get", "post"}
    assert set(paths["/api/v1/api-keys/{key_id}"]) >= {"get", "delete"}
    assert "post" in paths["/api/v1/api-keys/{key_id}/regenerate"]
    assert "get" in paths["/api/v1/dashboard"]
    assert {"apiKeyBearer": []} in paths["/api/v1/api-keys"]["post"]["security"]


@pytest.mark.concurrency
def test_key_cap_holds_under_concurrency(org, settings):
    settings.API_KEY_MAX_ACTIVE = 5

    def create(i):
        try:
            apikey_create(organization=org, name=f"k{i}")
            return "ok"
        except Exception as exc:
            return type(exc).__name__

    results = in_parallel(8, create)
    assert sorted(results) == ["KeyLimitReached"] * 3 + ["ok"] * 5
    assert APIKey.objects.filter(organization=org).count() == 5


@pytest.mark.parametrize("spelling", [str.upper, lambda s: s.replace("-", ""), "{{{}}}".format])
def test_a_key_revokes_itself_by_any_spelling_of_its_id_that_finds_it(org, spelling):
    own, own_full = apikey_create(organization=org, name="chat only", permissions=["chat"])
    client = with_key(own_full)
    key_id = spelling(str(own.id))
    assert client.get(f"/api/v1/api-keys/{key_id}").status_code == 403  # needs `keys`
    r = client.delete(f"/api/v1/api-keys/{key_id}")
    assert r.status_code == 200
    assert r.json()["apiKey"]["id"] == str(own.id)
    assert r.json()["apiKey"]["status"] == "revoked"
