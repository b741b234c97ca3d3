"""Single-tenant mode: SERVER_AUTH_TOKEN (alias ELIZA_SERVER_AUTH_TOKEN) gates /api/."""

import logging

import pytest

from tests.helpers import failure_window, rate_limited, run_python

pytestmark = pytest.mark.django_db

TOKEN = "s3rver-token-with-enough-entropy"
REFUSED = {
    "error": {
        "code": "UNAUTHORIZED",
        "message": "Unauthorized: this server requires its token in X-API-KEY.",
    }
}


@pytest.fixture
def server_token(settings):
    settings.SERVER_AUTH_TOKEN = TOKEN
    return TOKEN


def test_off_by_default(client):
    assert client.get("/api/schema/").status_code == 200


def test_missing_or_wrong_token_is_401_and_logged(client, server_token, caplog):
    caplog.set_level(logging.WARNING, logger="gatehouse.auth")
    r = client.get("/api/schema/")
    assert r.status_code == 401
    assert r.json() == REFUSED
    r = client.get("/api/schema/", HTTP_X_API_KEY="wrong", REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 401
    assert r.json() == REFUSED
    assert "Unauthorized access attempt: missing server token from 127.0.0.1" in caplog.text
    assert "Unauthorized access attempt: invalid server token from 10.1.2.3" in caplog.text
    assert "wrong" not in caplog.text


def test_right_token_passes_in_any_header_capitalisation(client, server_token):
    assert client.get("/api/schema/", HTTP_X_API_KEY=TOKEN).status_code == 200
    # Django folds header names, so X-API-KEY, x-api-key and X-Api-Key all arrive alike.
    assert client.get("/api/schema/", headers={"x-api-key": TOKEN}).status_code == 200


def test_preflight_without_the_token_passes_the_gate(client, server_token, settings):
    # A browser sends no custom header on a preflight: the gate must let it through.
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    r = client.options(
        "/api/v1/api-keys",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert r.status_code == 200
    assert r["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert r.content == b""


def test_paths_outside_api_are_not_gated(client, server_token):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_organization_keys_travel_as_bearer(client, server_token, make_key):
    _, full = make_key(permissions=["keys"])
    r = client.get("/api/v1/dashboard", HTTP_X_API_KEY=TOKEN, HTTP_AUTHORIZATION=f"Bearer {full}")
    assert r.status_code == 200
    assert r.json()["authMethod"] == "api_key"
    # The organization key in X-API-KEY is not the server token: refused at the gate.
    assert client.get("/api/v1/dashboard", HTTP_X_API_KEY=full).json() == REFUSED


def test_non_ascii_token_header_is_refused_not_500(client, server_token):
    r = client.get("/api/schema/", HTTP_X_API_KEY="tökén")
    assert r.status_code == 401


def test_failures_are_limited_but_the_right_token_still_passes(client, server_token, settings):
    settings.AUTH_FAILURE_RATE = "3/m"
    failure_window()
    for _ in range(3):
        assert client.get("/api/schema/", HTTP_X_API_KEY="guess").status_code == 401
    rate_limited(
        client.get("/api/schema/", HTTP_X_API_KEY="guess"), message="Too many failed attempts."
    )
    assert client.get("/api/schema/", HTTP_X_API_KEY=TOKEN).status_code == 200


def test_eliza_alias_is_read_from_the_environment():
    out = run_python(
        "-c",
        "from django.conf import settings; print(settings.SERVER_AUTH_TOKEN)",
        drop=("SERVER_AUTH_TOKEN",),
        ELIZA_SERVER_AUTH_TOKEN="from-eliza",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "from-eliza"
