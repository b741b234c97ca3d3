import logging
import string
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from apikeys import keyformat
from apikeys.models import APIKey
from apikeys.services import apikey_regenerate, apikey_revoke
from tests.helpers import failure_window
from tests.own_cache import clear_own_keys

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.apikeys.urls")]

INVALID = {"error": {"code": "UNAUTHORIZED", "message": "Invalid or missing authentication"}}


def whoami(api, **headers):
    return api.get("/api/whoami", headers=headers)


@pytest.mark.parametrize("header", ["X-API-Key", "X-API-KEY", "x-api-key", "X-Api-Key"])
def test_x_api_key_any_capitalisation(api, make_key, header, org):
    key, full = make_key()
    r = whoami(api, **{header: full})
    assert r.status_code == 200
    assert r.json()["key"] == str(key.id)
    assert r.json()["org"] == str(org.id)
    assert r.json()["method"] == "api_key"
    assert r.json()["userClass"] == "KeyUser"


def test_bearer(api, make_key):
    key, full = make_key(environment="test")
    r = whoami(api, Authorization=f"Bearer {full}")
    assert r.status_code == 200
    assert (r.json()["key"], r.json()["env"], r.json()["rateLimit"]) == (str(key.id), "test", 60)
    r = whoami(api, Authorization=f"bearer   {full}  ")
    assert r.status_code == 200


def test_extra_header_names(api, make_key, settings):
    key, full = make_key()
    assert whoami(api, **{"X-Ethos-Api-Key": full}).status_code == 401
    settings.API_KEY_EXTRA_HEADERS = ["X-Ethos-Api-Key"]
    r = whoami(api, **{"X-Ethos-Api-Key": full})
    assert r.status_code == 200 and r.json()["key"] == str(key.id)


def test_x_api_key_wins_over_bearer_unless_flipped(api, make_key, settings):
    a, a_full = make_key(name="a")
    b, b_full = make_key(name="b")
    both = {"X-API-Key": a_full, "Authorization": f"Bearer {b_full}"}
    assert whoami(api, **both).json()["key"] == str(a.id)
    settings.API_KEY_HEADER_PRECEDENCE = "bearer"
    assert whoami(api, **both).json()["key"] == str(b.id)


def test_server_token_mode_reserves_x_api_key(api, make_key, settings):
    _, full = make_key()
    settings.SERVER_AUTH_TOKEN = "server-secret"
    # The key in X-API-Key is not the server token, so the gate refuses it...
    assert whoami(api, **{"X-API-Key": full}).status_code == 401
    # ...and with the server token there, the key travels as Bearer.
    both = {"X-API-Key": "server-secret", "Authorization": f"Bearer {full}"}
    assert whoami(api, **both).status_code == 200


def test_missing_credentials_is_401_with_challenge(api, caplog):
    caplog.set_level(logging.WARNING)
    r = api.get("/api/whoami")
    assert r.status_code == 401
    assert r.json() == INVALID
    assert r["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "Unauthorized access attempt: no credentials for /api/whoami from 127.0.0.1" in (
        caplog.text
    )


def test_other_authorization_schemes_are_not_ours(api):
    r = whoami(api, Authorization="Basic dXNlcjpwYXNz")
    assert r.status_code == 401 and r.json() == INVALID


@pytest.mark.parametrize(
    "value",
    ["", "garbage", "ek_live_", "Bearer", "x" * 257, "ek_live_" + "é" * 38, "ek_live_\x00"],
)
def test_bad_values_are_401(api, value):
    r = whoami(api, **{"X-API-Key": value})
    assert r.status_code == 401 and r.json() == INVALID


def test_unknown_expired_revoked_messages_and_logs(api, make_key, caplog):
    caplog.set_level(logging.WARNING, logger="gatehouse.auth")
    unknown = keyformat.generate()
    assert whoami(api, **{"X-API-Key": unknown}).json() == INVALID

    expired, expired_full = make_key()
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    r = whoami(api, **{"X-API-Key": expired_full})
    assert r.status_code == 401
    assert r.json() == {"error": {"code": "UNAUTHORIZED", "message": "API key has expired"}}

    revoked, revoked_full = make_key()
    assert whoami(api, **{"X-API-Key": revoked_full}).status_code == 200
    apikey_revoke(key=revoked)
    r = whoami(api, **{"X-API-Key": revoked_full})
    assert r.status_code == 401
    assert r.json() == {"error": {"code": "UNAUTHORIZED", "message": "API key has been revoked"}}

    lines = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING]
    assert (
        f"Unauthorized access attempt: unknown API key {keyformat.hint(unknown)} from 127.0.0.1"
        in lines
    )
    assert any(f"expired API key {expired.hint}" in line for line in lines)
    assert any(f"revoked API key {revoked.hint}" in line for line in lines)
    for secret in (unknown, expired_full, revoked_full):
        assert secret not in caplog.text


def test_allow_list(api, make_key, settings):
    _, full = make_key(allowed_ips=["10.0.0.0/8"])
    r = whoami(api, **{"X-API-Key": full})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"
    assert (
        api.get("/api/whoami", headers={"X-API-Key": full}, REMOTE_ADDR="10.2.3.4").status_code
        == 200
    )
    # X-Forwarded-For only from a trusted proxy.
    spoofed = {"X-API-Key": full, "X-Forwarded-For": "10.2.3.4"}
    assert api.get("/api/whoami", headers=spoofed).status_code == 403
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert api.get("/api/whoami", headers=spoofed).status_code == 200


@pytest.mark.parametrize("param", ["key", "api_key", "apiKey", "token", "access_token", "KEY"])
def test_key_in_query_string_is_400(api, make_key, param):
    _, full = make_key()
    r = api.get(f"/api/whoami?{param}={full}")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    # Refused even alongside a valid header, and under any parameter name.
    r = api.get(f"/api/whoami?q={full}", headers={"X-API-Key": full})
    assert r.status_code == 400


def test_garbage_makes_no_database_or_cache_access(api, settings, django_assert_num_queries):
    settings.CACHES = {"default": {"BACKEND": "tests.refusing_cache.RefusingCache"}}
    forged = keyformat.generate()[:-1] + "A"
    with django_assert_num_queries(0):
        for value in ["nope", forged, "ek_test_" + "A" * 38, "x" * 300]:
            r = whoami(api, Authorization=f"Bearer {value}")
            assert r.status_code == 401


def test_warm_request_makes_no_query(api, make_key, django_assert_num_queries):
    _, full = make_key()
    assert whoami(api, **{"X-API-Key": full}).status_code == 200
    with django_assert_num_queries(0):
        for _ in range(3):
            assert whoami(api, **{"X-API-Key": full}).status_code == 200


def test_revocation_is_seen_at_once_through_the_cache(api, make_key):
    key, full = make_key()
    assert whoami(api, **{"X-API-Key": full}).status_code == 200
    apikey_revoke(key=key)
    assert whoami(api, **{"X-API-Key": full}).status_code == 401


def test_regenerate_grace_over_http(api, make_key):
    key, old = make_key()
    _, new = apikey_regenerate(key=key, grace_period_seconds=600)
    assert whoami(api, **{"X-API-Key": old}).status_code == 200
    assert whoami(api, **{"X-API-Key": new}).status_code == 200
    _, newest = apikey_regenerate(key=key)
    assert whoami(api, **{"X-API-Key": old}).status_code == 401
    assert whoami(api, **{"X-API-Key": new}).status_code == 401
    assert whoami(api, **{"X-API-Key": newest}).status_code == 200


def test_failed_attempts_are_limited_per_address(
    api, make_key, settings, caplog, django_assert_num_queries
):
    settings.AUTH_FAILURE_RATE = "5/m"
    failure_window()
    _, good = make_key()
    assert whoami(api, **{"X-API-Key": good}).status_code == 200
    for _ in range(5):
        assert whoami(api, **{"X-API-Key": keyformat.generate()}).status_code == 401
    with django_assert_num_queries(0):
        r = whoami(api, **{"X-API-Key": keyformat.generate()})
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "RATE_LIMITED"
        assert 1 <= int(r["Retry-After"]) <= 60
        # Valid credentials from the same address still pass.
        assert whoami(api, **{"X-API-Key": good}).status_code == 200
    # Another address is not locked out.
    r = api.get("/api/whoami", headers={"X-API-Key": keyformat.generate()}, REMOTE_ADDR="10.0.0.9")
    assert r.status_code == 401


def test_has_permission(api, make_key):
    _, read_only = make_key(permissions=["chat:read"])
    _, writer = make_key(permissions=["chat:write"])
    _, bare = make_key(permissions=["chat"])
    _, everything = make_key(permissions=[])
    _, other = make_key(permissions=["images"])
    forbidden = {"error": {"code": "FORBIDDEN", "message": "Insufficient permissions"}}

    def call(method, path, key):
        return getattr(api, method)(path, headers={"X-API-Key": key})

    assert call("get", "/api/chat", read_only).status_code == 200
    r = call("post", "/api/chat", read_only)
    assert (r.status_code, r.json()) == (403, forbidden)
    assert call("get", "/api/chat", writer).status_code == 200  # write implies read
    assert call("post", "/api/chat", writer).status_code == 200
    assert call("post", "/api/chat", bare).status_code == 200
    assert call("get", "/api/chat-write", bare).status_code == 200
    assert call("get", "/api/chat-write", read_only).status_code == 403
    assert call("get", "/api/billing", everything).status_code == 200
    assert call("get", "/api/billing", writer).status_code == 403
    assert call("get", "/api/chat", other).status_code == 403
    assert api.get("/api/chat").status_code == 401


def test_has_permission_rejects_unknown_names():
    from accounts.permissions import HasPermission

    with pytest.raises(ValueError):
        HasPermission("chat:delete")


def test_session_principal_and_csrf(user, org, caplog):
    from rest_framework.test import APIClient

    from accounts.services import membership_add, organization_create

    other = organization_create(name="Other", slug="other")
    membership_add(user=user, organization=other)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    r = client.get("/api/whoami")
    assert r.status_code == 200
    assert r.json()["method"] == "session"
    assert r.json()["org"] == str(org.id)  # the first membership
    assert r.json()["user"] == str(user.id)
    session = client.session
    session["active_org_id"] = str(other.id)
    session.save()
    assert client.get("/api/whoami").json()["org"] == str(other.id)
    # Unsafe methods need the CSRF token.
    r = client.post("/api/whoami", {}, format="json")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"
    assert "Unauthorized access attempt: CSRF check failed" in caplog.text


def test_session_user_without_organization(db):
    from rest_framework.test import APIClient

    from accounts.models import User

    loner = User.objects.create_user(username="loner", password="x" * 12)
    client = APIClient()
    client.force_login(loner)
    assert client.get("/api/whoami").status_code == 403


header_text = st.text(
    alphabet=st.characters(min_codepoint=1, max_codepoint=0x2FF, blacklist_categories=("Cs",)),
    max_size=300,
)


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    x_api_key=st.one_of(st.none(), header_text),
    authorization=st.one_of(
        st.none(),
        header_text,
        st.builds(lambda s: f"Bearer {s}", header_text),
        st.builds(
            lambda body: "ek_live_" + body,
            st.text(alphabet=string.ascii_letters + string.digits, min_size=38, max_size=38),
        ),
    ),
    query=st.one_of(st.none(), st.text(alphabet=string.ascii_letters + "_=&%", max_size=40)),
)
def test_fuzzed_headers_never_500(api, x_api_key, authorization, query):
    clear_own_keys()
    headers = {}
    if x_api_key is not None:
        headers["X-API-Key"] = x_api_key
    if authorization is not None:
        headers["Authorization"] = authorization
    r = api.get("/api/whoami" + (f"?{query}" if query else ""), headers=headers)
    assert r.status_code in {400, 401, 403, 429}
    assert set(r.json()["error"]) <= {"code", "message", "details"}


def test_keys_still_work_when_the_cache_is_down(api, make_key, settings, caplog):
    _, full = make_key()
    settings.CACHES = {"default": {"BACKEND": "tests.refusing_cache.RefusingCache"}}
    r = whoami(api, **{"X-API-Key": full})
    assert r.status_code == 200
    assert r["X-RateLimit-Limit"] == "60"  # the limit fails open, and says so in the log
    assert "Cache unavailable while checking an API key" in caplog.text
    assert whoami(api, **{"X-API-Key": keyformat.generate()}).status_code == 401
