import pytest

pytestmark = pytest.mark.django_db


def test_preflight_from_an_allowed_origin_lists_our_headers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    r = client.options(
        "/api/v1/api-keys",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key, x-wallet-signature",
    )
    assert r.status_code == 200
    assert r["Access-Control-Allow-Origin"] == "https://app.example.com"
    allowed = {h.strip() for h in r["Access-Control-Allow-Headers"].split(",")}
    assert {
        "authorization",
        "x-api-key",
        "x-wallet-address",
        "x-timestamp",
        "x-wallet-signature",
        "x-payment",
    } <= allowed


def test_other_origins_get_no_cors_headers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    r = client.get("/api/schema/", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in r
