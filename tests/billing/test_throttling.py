import logging

import pytest

from tests.helpers import CLOSED_PORT_REDIS, expected_window_end, fresh_window, rate_limited

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.billing.urls")]

# A real Redis client pointed at a port where nothing listens.


@pytest.fixture(autouse=True)
def three_per_minute(settings):
    settings.ANONYMOUS_RATE = "3/m"
    for group in ("siwe-nonce", "siwe-verify", "key-create-headless"):
        fresh_window(f"anon:{group}:127.0.0.1")


def test_anonymous_limit_per_address_with_headers(api):
    seen = []
    for _ in range(3):
        r = api.get("/api/test/anon-nonce")
        assert r.status_code == 200
        seen.append(int(r["X-RateLimit-Remaining"]))
        assert r["X-RateLimit-Limit"] == "3"
        assert r["X-RateLimit-Reset"] == str(expected_window_end("anon:siwe-nonce:127.0.0.1"))
    assert seen == [2, 1, 0]
    rate_limited(
        api.get("/api/test/anon-nonce"),
        message="Rate limit exceeded: 3 requests per 60 s from this address. "
        "Expected available in {wait} {seconds}.",
        limit=3,
    )


def test_each_route_group_has_its_own_bucket(api):
    for _ in range(3):
        assert api.get("/api/test/anon-nonce").status_code == 200
    assert api.get("/api/test/anon-nonce").status_code == 429
    for _ in range(3):
        assert api.post("/api/test/anon-verify").status_code == 200
        assert api.post("/api/test/anon-view-scoped").status_code == 200
    assert api.post("/api/test/anon-verify").status_code == 429
    assert api.post("/api/test/anon-view-scoped").status_code == 429


def test_each_address_has_its_own_bucket(api):
    for _ in range(3):
        assert api.get("/api/test/anon-nonce", REMOTE_ADDR="10.0.0.1").status_code == 200
    assert api.get("/api/test/anon-nonce", REMOTE_ADDR="10.0.0.1").status_code == 429
    assert api.get("/api/test/anon-nonce", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_forwarded_for_is_ignored_from_an_untrusted_peer(api):
    for i in range(3):
        r = api.get("/api/test/anon-nonce", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
        assert r.status_code == 200
    r = api.get("/api/test/anon-nonce", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert r.status_code == 429


def test_forwarded_for_from_a_trusted_proxy_names_the_client(api, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    for i in range(3):
        r = api.get("/api/test/anon-nonce", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
        assert r.status_code == 200
        assert r["X-RateLimit-Remaining"] == "2"


def test_authenticated_requests_are_not_counted_as_anonymous(api, make_key):
    _, full = make_key()
    for _ in range(5):
        r = api.get("/api/test/anon-nonce", headers={"Authorization": f"Bearer {full}"})
        assert r.status_code == 200
    assert api.get("/api/test/anon-nonce").json() == {"ok": True}


def test_redis_unreachable_fails_open_by_default(api, settings, caplog):
    settings.CACHES = CLOSED_PORT_REDIS
    with caplog.at_level(logging.ERROR, logger="gatehouse.ratelimit"):
        for _ in range(5):
            r = api.get("/api/test/anon-nonce")
            assert r.status_code == 200
            assert r.json() == {"ok": True}
    errors = [rec for rec in caplog.records if rec.name == "gatehouse.ratelimit"]
    assert len(errors) == 5
    assert "letting the request through" in errors[0].getMessage()


def test_redis_unreachable_fails_closed_when_configured(api, settings, caplog):
    settings.CACHES = CLOSED_PORT_REDIS
    settings.RATE_LIMIT_FAIL_OPEN = False
    with caplog.at_level(logging.ERROR, logger="gatehouse.ratelimit"):
        r = api.get("/api/test/anon-nonce")
    assert r.status_code == 503
    assert r.json() == {
        "error": {
            "code": "SERVICE_UNAVAILABLE",
            "message": "Rate limiting is unavailable; try again shortly.",
        }
    }
    assert any("refusing the request" in rec.getMessage() for rec in caplog.records)


def test_a_throttle_without_a_group_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from billing.throttling import AnonymousRateThrottle

    class NoGroup(APIView):
        pass

    request = APIView().initialize_request(APIRequestFactory().get("/"))
    with pytest.raises(ImproperlyConfigured):
        AnonymousRateThrottle().allow_request(request, NoGroup())


def test_redis_unreachable_authenticated_requests_fail_open(api, make_key, fund, org, settings):
    fund(org, 1_000_000)
    _, full = make_key()
    settings.CACHES = CLOSED_PORT_REDIS
    auth = {"Authorization": f"Bearer {full}"}
    r = api.get("/api/v1/credits", headers=auth)
    assert r.status_code == 200
    assert r.json()["balance"] == "1.000000"
    r = api.post("/api/v1/echo", {"message": "still metered"}, format="json", headers=auth)
    assert (r.status_code, r.json()["charged"]) == (200, "0.001000")


def test_redis_unreachable_authenticated_requests_fail_closed(api, make_key, fund, org, settings):
    fund(org, 1_000_000)
    _, full = make_key()
    settings.CACHES = CLOSED_PORT_REDIS
    settings.RATE_LIMIT_FAIL_OPEN = False
    auth = {"Authorization": f"Bearer {full}"}
    for r in (
        api.get("/api/v1/credits", headers=auth),
        api.post("/api/v1/echo", {"message": "refused"}, format="json", headers=auth),
    ):
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert org.ledger_entries.filter(kind="usage").count() == 0
