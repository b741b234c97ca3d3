"""The OpenAPI document describes what the API really answers: every error an
operation can give (in the envelope), the headless key-creation body, strict
bodies that refuse unknown fields, and the headers every response carries."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ANONYMOUS = {("get", "/api/auth/siwe/nonce"), ("post", "/api/auth/siwe/verify")}
# Read no credentials but check CSRF: a 403, and (login) a 401 when SIWE fails.
CSRF_ONLY = {("post", "/api/auth/siwe/login"), ("post", "/api/auth/logout")}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(client):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    return r.json()


def component(schema, ref: dict) -> dict:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_every_operation_documents_its_errors_as_the_envelope(schema):
    seen = 0
    for method, path, operation in operations(schema):
        seen += 1
        expected = {"400", "429", "503"}
        if (method, path) in CSRF_ONLY:
            expected.add("403")
        elif (method, path) not in ANONYMOUS:
            expected |= {"401", "403"}
        if "{" in path or "page" in {p["name"] for p in operation.get("parameters", [])}:
            expected.add("404")
        if method == "post":
            expected |= {"413", "415"}
        responses = operation["responses"]
        assert expected <= set(responses), (method, path, expected - set(responses))
        for status, response in responses.items():
            if int(status) >= 400:
                body = response["content"]["application/json"]["schema"]
                assert body == ERROR_REF, (method, path, status)
    assert seen == 15  # every operation of the API, so a new one is looked at here too


def test_siwe_verify_documents_its_401(schema):
    assert "401" in schema["paths"]["/api/auth/siwe/verify"]["post"]["responses"]


def test_echo_documents_insufficient_credits(schema):
    response = schema["paths"]["/api/v1/echo"]["post"]["responses"]["402"]
    assert response["content"]["application/json"]["schema"] == ERROR_REF


def test_key_creation_documents_the_headless_body_and_anonymous_access(schema):
    operation = schema["paths"]["/api/v1/api-keys"]["post"]
    body = component(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert body == {
        "oneOf": [
            {"$ref": "#/components/schemas/APIKeyCreateRequest"},
            {"$ref": "#/components/schemas/HeadlessKeyCreateRequest"},
        ]
    }
    assert {} in operation["security"]
    assert {"apiKeyHeader": []} in operation["security"]
    headless = schema["components"]["schemas"]["HeadlessKeyCreateRequest"]
    assert set(headless["properties"]) == {"address", "message", "signature", "name", "expiresAt"}
    assert sorted(headless["required"]) == ["address", "message", "name", "signature"]
    assert headless["additionalProperties"] is False
    assert headless["properties"]["signature"]["pattern"] == "^(0[xX])?[0-9a-fA-F]{130}$"
    assert headless["properties"]["address"]["pattern"] == "^0x[0-9a-fA-F]{40}$"
    assert headless["properties"]["message"]["pattern"] == "^[\\u0000-\\u007f]+$"
    assert headless["properties"]["message"]["maxLength"] == 4096
    # The list's description is its own, not the headless mixin's docstring.
    assert "headless_post" not in schema["paths"]["/api/v1/api-keys"]["get"].get("description", "")


def test_strict_bodies_refuse_unknown_fields_and_lenient_ones_do_not(schema):
    components = schema["components"]["schemas"]
    for name in ("APIKeyCreateRequest", "APIKeyRegenerateRequest", "HeadlessKeyCreateRequest"):
        assert components[name]["additionalProperties"] is False, name
    for name in ("EchoInRequest", "VerifyInRequest", "SiweVerifyRequest"):
        assert "additionalProperties" not in components[name], name


def test_verify_body_constraints_match_the_checks(schema):
    fields = schema["components"]["schemas"]["VerifyInRequest"]["properties"]
    assert fields["requestId"]["pattern"] == "^[A-Za-z0-9._:-]{1,100}$"
    assert fields["ip"]["anyOf"] == [{"format": "ipv4"}, {"format": "ipv6"}]
    (permission,) = fields["permissions"]["items"]["allOf"]
    assert "verify" in component(schema, permission)["enum"]
    assert fields["cost"]["oneOf"][1] == {"type": "integer", "minimum": 0, "maximum": 1000}


def test_paths_and_pages_are_typed(schema):
    detail = schema["paths"]["/api/v1/api-keys/{key_id}"]["get"]
    (key_id,) = [p for p in detail["parameters"] if p["name"] == "key_id"]
    assert key_id["schema"] == {"type": "string", "format": "uuid"}
    listing = schema["paths"]["/api/v1/credits/transactions"]["get"]
    for name in ("page", "pageSize"):
        parameter = next(p for p in listing["parameters"] if p["name"] == name)
        assert parameter["schema"] == {"type": "integer", "minimum": 1}


def test_responses_document_request_id_rate_and_retry_headers(schema):
    def header(response, name):
        ref = response["headers"][name]["$ref"]
        assert ref == f"#/components/headers/{name}"  # described once, referred to
        return schema["components"]["headers"][name]

    responses = schema["paths"]["/api/v1/credits"]["get"]["responses"]
    assert header(responses["200"], "X-Request-ID")["required"] is True
    assert header(responses["403"], "X-Request-ID")["required"] is True
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header(responses["200"], name)["schema"] == {"type": "integer"}
    assert "X-RateLimit-Limit" not in responses["401"]["headers"]
    assert header(responses["429"], "Retry-After")["schema"] == {"type": "integer"}
    nonce = schema["paths"]["/api/auth/siwe/nonce"]["get"]["responses"]["200"]["headers"]
    assert "X-RateLimit-Limit" not in nonce
