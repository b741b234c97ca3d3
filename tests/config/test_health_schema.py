import pytest
from django.test import override_settings

from tests.helpers import CLOSED_PORT_REDIS


@pytest.mark.django_db
def test_healthz_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}
    assert "no-cache" in r["Cache-Control"]


@pytest.mark.django_db
def test_healthz_names_the_cache_when_it_is_down(client):
    with override_settings(CACHES=CLOSED_PORT_REDIS):
        r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {
        "error": {
            "code": "SERVICE_UNAVAILABLE",
            "message": "Not answering: cache",
            "details": {"checks": {"database": "ok", "cache": "unavailable"}},
        }
    }


def test_healthz_names_the_database_when_it_is_down(client):
    # No `db` fixture: pytest-django refuses every database connection here,
    # which is what a database that does not answer looks like to the view.
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["error"]["details"] == {"checks": {"database": "unavailable", "cache": "ok"}}


def test_healthz_rejects_other_methods(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_openapi_schema(client):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Gatehouse API"


@pytest.mark.django_db
def test_docs_are_served_without_internet(client):
    r = client.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    # Swagger UI comes from drf-spectacular-sidecar's static files, not a CDN.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn." not in html and "unpkg" not in html


@pytest.mark.django_db
def test_security_headers(client):
    r = client.get("/healthz")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["X-Frame-Options"] == "DENY"
    assert r["Referrer-Policy"] == "same-origin"


ENVELOPE_CASES = [
    ("get", "/api/schema/", {"HTTP_X_API_KEY": "ek_live_not-a-key"}, 401, "UNAUTHORIZED"),
    ("get", "/api/schema/?format=xml", {}, 404, "NOT_FOUND"),
    ("put", "/api/schema/", {}, 405, "METHOD_NOT_ALLOWED"),
    ("get", "/api/schema/", {"HTTP_ACCEPT": "text/csv"}, 406, "NOT_ACCEPTABLE"),
    ("get", "/api/docs/", {"HTTP_X_API_KEY": "ek_live_not-a-key"}, 401, "UNAUTHORIZED"),
    ("post", "/api/docs/", {}, 405, "METHOD_NOT_ALLOWED"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "headers", "status", "code"), ENVELOPE_CASES)
def test_schema_and_docs_errors_are_json_envelopes(client, method, path, headers, status, code):
    # Their success renderers are YAML and HTML; an error is still the JSON envelope.
    r = getattr(client, method)(path, **headers)
    assert r.status_code == status
    assert r["Content-Type"] == "application/json"
    assert set(r.json()) == {"error"}
    assert r.json()["error"]["code"] == code
