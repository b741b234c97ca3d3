"""The error-envelope check shared by the schema fuzz test and the live-server
fuzzing hooks (scripts/schemathesis_hooks.py): one definition of what every
4xx/5xx under /api/ must look like."""

from __future__ import annotations

import json


def error_envelope(ctx, response, case) -> None:
    """Every 4xx/5xx under /api/ is JSON `{"error": {"code", "message", "details"?}}`."""
    if response.status_code < 400 or not case.path.startswith("/api"):
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    check_error_body(response.status_code, content_type, response.content)


def error_of(response) -> dict:
    """The `error` of a Django test response, after checking the whole envelope."""
    assert response.status_code >= 400, (response.status_code, response.content)
    body = check_error_body(response.status_code, response["Content-Type"], response.content)
    return body["error"]


def check_error_body(status_code: int, content_type: str, content: bytes) -> dict:
    """The checks themselves; returns the parsed body."""
    assert content_type == "application/json", (status_code, content_type)
    body = json.loads(content)
    # A 402 also carries x402 v1's requirements beside the envelope (SPEC §5).
    extra = {"x402Version", "accepts"} if status_code == 402 else set()
    assert isinstance(body, dict) and "error" in body and set(body) - {"error"} <= extra, body
    error = body["error"]
    assert isinstance(error, dict), body
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}, body
    assert isinstance(error["code"], str) and error["code"].isupper(), body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error.get("details", {}), dict), body
    return body
