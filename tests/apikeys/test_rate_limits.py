import pytest
from rest_framework.test import APIClient

from accounts.models import Plan
from apikeys import keyformat
from apikeys.services import apikey_create
from tests.helpers import expected_window_end, fresh_window, key_bucket, rate_limited

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.apikeys.urls")]


def client_for(full):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=full)
    return client


def test_key_limit_headers_and_429(org):
    _, full = apikey_create(organization=org, name="k", rate_limit=3)
    client = client_for(full)
    fresh_window(key_bucket(full))
    remaining = []
    for _ in range(3):
        r = client.get("/api/whoami")
        assert r.status_code == 200
        assert r["X-RateLimit-Limit"] == "3"
        remaining.append(r["X-RateLimit-Remaining"])
        assert r["X-RateLimit-Reset"] == str(expected_window_end(key_bucket(full)))
    assert remaining == ["2", "1", "0"]  # one count per request, not two
    rate_limited(
        client.get("/api/whoami"),
        message="Rate limit exceeded: 3 requests per minute. "
        "Expected available in {wait} {seconds}.",
        limit=3,
    )


def test_plan_limits_and_plan_change(org):
    _, full = apikey_create(organization=org, name="k")
    client = client_for(full)
    assert client.get("/api/whoami")["X-RateLimit-Limit"] == "60"
    org.plan = Plan.PRO
    org.save()
    assert client.get("/api/whoami")["X-RateLimit-Limit"] == "300"
    org.plan = Plan.ENTERPRISE
    org.custom_rate_limit = 5000
    org.save()
    assert client.get("/api/whoami")["X-RateLimit-Limit"] == "5000"


def test_error_responses_of_authenticated_requests_carry_headers(org):
    _, full = apikey_create(organization=org, name="k", permissions=["images"])
    client = client_for(full)
    fresh_window(key_bucket(full))
    r = client.get("/api/chat")
    assert r.status_code == 403
    assert r["X-RateLimit-Remaining"] == "59"
    r = client.post("/api/billing")
    assert r.status_code == 403
    assert r["X-RateLimit-Remaining"] == "58"


def test_unauthenticated_responses_carry_no_headers():
    assert "X-RateLimit-Limit" not in APIClient().get("/api/whoami")
    r = client_for(keyformat.generate()).get("/api/whoami")
    assert r.status_code == 401 and "X-RateLimit-Limit" not in r


def test_session_requests_are_limited_too(user, org):
    org.plan = Plan.ENTERPRISE
    org.custom_rate_limit = 2
    org.save()
    client = APIClient()
    client.force_login(user)
    fresh_window(f"user:{user.pk}")
    assert client.get("/api/whoami")["X-RateLimit-Limit"] == "2"
    assert client.get("/api/whoami")["X-RateLimit-Remaining"] == "0"
    rate_limited(client.get("/api/whoami"), limit=2)
    # The owner's session may call every route: another route shares the same counter.
    rate_limited(client.get("/api/chat"), limit=2)


def test_grace_secret_shares_the_keys_counter(org):
    from apikeys.services import apikey_regenerate

    key, old = apikey_create(organization=org, name="k", rate_limit=4)
    _, new = apikey_regenerate(key=key, grace_period_seconds=600)
    fresh_window(key_bucket(new))
    assert client_for(new).get("/api/whoami")["X-RateLimit-Remaining"] == "3"
    assert client_for(old).get("/api/whoami")["X-RateLimit-Remaining"] == "2"
    assert client_for(new).get("/api/whoami")["X-RateLimit-Remaining"] == "1"
