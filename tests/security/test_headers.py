"""Item 13 of issue 9 (SPEC §2): an empty X-API-Key still counts as sent (401, no
fallback to the Bearer key in the same request)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.security.conftest import error

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_x_api_key_does_not_fall_back_to_bearer(make_key, empty):
    _, full = make_key()
    r = APIClient().get(
        "/api/v1/dashboard", headers={"X-API-Key": empty, "Authorization": f"Bearer {full}"}
    )
    assert error(r) == (401, "UNAUTHORIZED")


def test_bearer_alone_still_works(make_key):
    _, full = make_key()
    r = APIClient().get("/api/v1/dashboard", headers={"Authorization": f"Bearer {full}"})
    assert r.status_code == 200
