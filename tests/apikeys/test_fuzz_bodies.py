"""Whatever JSON arrives, key creation and regeneration answer 201/200 or a 4xx envelope."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.services import apikey_create
from tests.envelope import error_of

pytestmark = pytest.mark.django_db(transaction=True)


def changes() -> int:
    """Audit events other than a key's first use from an address (recorded whatever
    the answer): every change to a key writes one."""
    return APIKeyEvent.objects.exclude(action=EventAction.NEW_ADDRESS).count()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=120)
    | st.sampled_from(
        [
            "2030-01-01T00:00:00Z",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00-12:00",
            "2026-02-30T00:00:00Z",
            "10.0.0.0/8",
            "::1",
            "chat:write",
            "live",
            "test",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
fields = ["name", "permissions", "rateLimit", "expiresAt", "environment", "allowedIps", "extra"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(json_values, st.dictionaries(st.sampled_from(fields), json_values)))
def test_create_never_500(org, body):
    _, full = apikey_create(organization=org, name="manager", permissions=["keys"])
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=full)
    before = (APIKey.objects.count(), changes())
    r = client.post("/api/v1/api-keys", body, format="json")
    assert r.status_code in {201, 400, 403}, r.content
    if r.status_code != 201:
        error_of(r)
        assert (APIKey.objects.count(), changes()) == before
    APIKey.objects.filter(organization=org).update(revoked_at="2000-01-01T00:00:00Z")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(json_values, st.dictionaries(st.just("gracePeriodSeconds"), json_values)))
def test_regenerate_never_500(org, body):
    key, full = apikey_create(organization=org, name="self", permissions=["keys"])
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=full)
    before = (APIKey.objects.count(), changes())
    r = client.post(f"/api/v1/api-keys/{key.id}/regenerate", body, format="json")
    assert r.status_code in {200, 400}, r.content
    if r.status_code == 400:
        error_of(r)
        assert (APIKey.objects.count(), changes()) == before
        refused = APIKey.objects.get(pk=key.pk)
        assert (refused.digest, refused.previous_digest, refused.revoked_at) == (
            key.digest,
            None,
            None,
        )
        assert client.get("/api/v1/api-keys").status_code == 200  # the old secret still works
    APIKey.objects.filter(organization=org).update(revoked_at="2000-01-01T00:00:00Z")
