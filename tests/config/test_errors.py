"""Every error under /api/ uses the envelope, whatever layer raised it."""

import logging

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.config.urls")]


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r["Content-Type"] == "application/json"
    assert r.json() == {
        "error": {"code": "NOT_FOUND", "message": "No endpoint at /api/v1/nothing-here."}
    }


def test_unknown_api_path_is_json_404_with_debug_on(client, settings):
    settings.DEBUG = True
    r = client.post("/api/whatever", data="{}", content_type="application/json")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_non_api_404_stays_html(client):
    r = client.get("/nope")
    assert r.status_code == 404
    assert "application/json" not in r["Content-Type"]


def test_method_not_allowed(client):
    r = client.get("/api/test/things")
    assert r.status_code == 405
    assert r.json() == {
        "error": {"code": "METHOD_NOT_ALLOWED", "message": 'Method "GET" not allowed.'}
    }


def test_validation_error_lists_fields(client):
    r = client.post(
        "/api/test/things", data={"name": "toolong", "count": "x"}, content_type="application/json"
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "Invalid request.",
            "details": {
                "fields": {
                    "name": ["Ensure this field has no more than 5 characters."],
                    "count": ["A valid integer is required."],
                }
            },
        }
    }


def test_wrong_json_type_is_400(client):
    r = client.post("/api/test/things", data="[1, 2]", content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_unparseable_json(client):
    r = client.post("/api/test/things", data="{not json", content_type="application/json")
    assert r.status_code == 400
    body = r.json()["error"]
    assert body["code"] == "VALIDATION_ERROR"
    assert body["message"].startswith("JSON parse error")


def test_unsupported_media_type(client):
    r = client.post("/api/test/things", data="name=a", content_type="text/plain")
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_service_error_carries_code_and_details(client):
    r = client.get("/api/test/conflict")
    assert r.status_code == 409
    assert r.json() == {
        "error": {"code": "CONFLICT", "message": "Already there.", "details": {"slug": "acme"}}
    }


def test_unauthenticated_is_envelope(client):
    r = client.get("/api/test/private")
    assert r.status_code == 401
    assert r.json() == {
        "error": {"code": "UNAUTHORIZED", "message": "Invalid or missing authentication"}
    }
    assert r["WWW-Authenticate"] == 'Bearer realm="api"'


def test_unhandled_exception_is_500_without_traceback_and_logged_with_request_id(client, caplog):
    caplog.set_level(logging.ERROR, logger="gatehouse.errors")
    r = client.get("/api/test/boom", HTTP_X_REQUEST_ID="req-12345678")
    assert r.status_code == 500
    assert r.json() == {
        "error": {
            "code": "INTERNAL_ERROR",
            "message": "Internal server error. Quote the X-Request-ID header when reporting it.",
        }
    }
    assert "secret internals" not in r.content.decode()
    assert r["X-Request-ID"] == "req-12345678"
    records = [rec for rec in caplog.records if rec.name == "gatehouse.errors"]
    assert len(records) == 1
    assert records[0].request_id == "req-12345678"
    assert "secret internals" in records[0].exc_text


def test_unhandled_exception_outside_drf_is_enveloped(client, caplog):
    client.raise_request_exception = False
    r = client.get("/api/test/plain-boom")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "outside DRF" not in r.content.decode()


@pytest.mark.parametrize("path", ["/api/test/database-down", "/api/test/plain-database-down"])
def test_a_database_that_is_down_is_503_not_500(client, caplog, path):
    client.raise_request_exception = False
    caplog.set_level(logging.ERROR, logger="gatehouse.errors")
    r = client.get(path)
    assert (r.status_code, r["Retry-After"]) == (503, "1")
    assert r.json() == {
        "error": {
            "code": "SERVICE_UNAVAILABLE",
            "message": "The database is unavailable; try again shortly.",
        }
    }
    messages = [rec.getMessage() for rec in caplog.records if rec.name == "gatehouse.errors"]
    assert len(messages) == 1 and messages[0].startswith("Database unavailable: ")


def test_malformed_request_id_is_replaced(client):
    r = client.get("/api/nothing", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert len(r["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"name": ' + "[" * 5_000 + "]" * 5_000 + "}",
    ],
    ids=["list", "object", "inside-a-field"],
)
def test_deeply_nested_json_is_400_not_500(client, body):
    r = client.post("/api/test/things", data=body, content_type="application/json")
    assert r.status_code == 400
    assert r.json() == {
        "error": {"code": "VALIDATION_ERROR", "message": "JSON parse error - nested too deeply."}
    }


def test_nesting_limit_is_exact(client):
    from config.parsers import MAX_JSON_DEPTH

    def body(depth: int) -> str:  # the outer object is level 1
        return '{"name": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    at_limit = client.post(
        "/api/test/things", data=body(MAX_JSON_DEPTH), content_type="application/json"
    )
    assert at_limit.status_code == 400
    assert at_limit.json()["error"]["details"]["fields"]["name"] == ["Not a valid string."]
    over = client.post(
        "/api/test/things", data=body(MAX_JSON_DEPTH + 1), content_type="application/json"
    )
    assert over.status_code == 400
    assert over.json()["error"]["message"] == "JSON parse error - nested too deeply."


def test_body_over_the_upload_limit_is_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"name": "' + "a" * 2000 + '", "count": 1}'
    r = client.post("/api/test/things", data=body, content_type="application/json")
    assert r.status_code == 413
    assert r.json() == {
        "error": {
            "code": "PAYLOAD_TOO_LARGE",
            "message": "The request body is larger than 1000 bytes.",
        }
    }


def test_too_many_query_fields_is_400(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    r = client.get("/api/test/conflict?" + "&".join(f"f{i}=1" for i in range(11)))
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "Too many query or form fields (at most 10).",
        }
    }


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/test/plain-404", 404, "NOT_FOUND"),
        ("/api/test/plain-body", 413, "PAYLOAD_TOO_LARGE"),
        ("/api/test/plain-query?" + "&".join(f"f{i}" for i in range(11)), 400, "VALIDATION_ERROR"),
    ],
)
def test_django_request_errors_outside_drf_keep_their_status(client, settings, path, status, code):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    client.raise_request_exception = False
    r = client.post(path, data="x" * 2000, content_type="application/octet-stream")
    assert r.status_code == status
    assert r["Content-Type"] == "application/json"
    assert r.json()["error"]["code"] == code
