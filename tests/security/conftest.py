"""Shared set-up for the attack tests (issue 9): clients that speak to the REST
API as a dashboard session, an API key or a wallet, over the test client only,
so the tests hold whatever the modules behind the endpoints are called."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.wallet.helpers import wallet_headers

CSRF = "c" * 32
KEYS = "/api/v1/api-keys"


def as_key(full: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {full}")
    return client


def as_session(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def send(client: APIClient, method: str, path: str, body=None, **extra):
    """A JSON request with the CSRF header a dashboard page would send."""
    headers = {"X-CSRFToken": CSRF, **extra.pop("headers", {})}
    return getattr(client, method.lower())(path, body, format="json", headers=headers, **extra)


def as_wallet(api: APIClient, account, method: str, path: str, body=None, **extra):
    """A wallet-signed request (a fresh signature per call: each is single-use)."""
    headers = wallet_headers(account, method=method.upper(), path=path)
    return getattr(api, method.lower())(path, body, format="json", headers=headers, **extra)


def error(response) -> tuple[int, str | None]:
    """(status, envelope code); the code is None when the answer was not an error."""
    body = response.json() if response.content else {}
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    return response.status_code, code


@pytest.fixture
def gateway(db, other_org):
    """An operator-made key holding `verify`, in another organization (a gateway)."""
    from apikeys.services import apikey_create

    row, full = apikey_create(organization=other_org, name="gateway", permissions=["verify"])
    return row, full
