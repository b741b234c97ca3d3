"""Property-based fuzzing of the whole API from its own OpenAPI document.

Schemathesis takes the document /api/schema/ serves and generates requests for
every operation, valid and invalid, sent in-process to the WSGI application (real
database, real cache).
Every answer must be: not a 5xx; under /api/, any 4xx/5xx in the error envelope;
a status code, content type, body and headers the document describes; and a 4xx
for input the document says is invalid.

Two passes: with an API key holding every permission (so each operation gets past
authentication and reaches its view), and with no credentials but the garbage
ones schemathesis generates for the documented schemes. Bounded (60 examples per
operation) and derandomized, so it costs seconds and never flakes; longer runs
against a live server are described in docs/fuzzing.md.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import organization_create
from apikeys.services import apikey_create
from apikeys.validation import MAX_RATE_LIMIT
from billing.services import credits_grant
from tests import envelope

pytestmark = pytest.mark.django_db

FUZZ_SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


error_envelope = schemathesis.check(envelope.error_envelope)


RESPONSE_CHECKS = [
    not_a_server_error,
    error_envelope,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go to a bare WSGIHandler, whose request signals would close the
    database connection holding the test's transaction (Django's test client
    disconnects them the same way)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _payments_on(settings):
    # A recipient, so top-ups answer 402 with their requirements rather than 503
    # (payments off); fuzzed headers never get as far as a facilitator.
    settings.X402_PAY_TO = "0x" + "11" * 20


@pytest.fixture
def open_limits(settings):
    # Hundreds of requests from one address: lift the anonymous and auth-failure
    # limits (a 429 would be a correct answer, but would hide the view behind it).
    settings.ANONYMOUS_RATE = "1000000/m"
    settings.AUTH_FAILURE_RATE = "1000000/m"


@pytest.fixture
def full_key(open_limits) -> str:
    """A key with every permission, no rate limit to speak of, and credits to spend."""
    org = organization_create(name="Fuzz", slug="fuzz")
    credits_grant(organization=org, amount_micros=1_000_000_000, reference="fuzz:seed")
    _, key = apikey_create(organization=org, name="fuzz", rate_limit=MAX_RATE_LIMIT)
    return key


def _document() -> dict[str, Any]:
    """The document /api/schema/ serves (the same generator, no request needed), so
    the tests can be parametrized per operation when the module is collected."""
    return SchemaGenerator().get_schema(request=None, public=True)


def _loaded(document: dict[str, Any]):
    # JSON round trip: the generator's output holds lazy strings and tuples.
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(document, default=str)))
    schema.app = WSGIHandler()
    return schema


def _without_security(document: dict[str, Any]) -> dict[str, Any]:
    # The key is sent with every request, so the document given to schemathesis
    # declares no security: it then generates no credential headers of its own,
    # and a request it makes invalid is invalid in its body, query or path.
    document = copy.deepcopy(document)
    document["components"].pop("securitySchemes", None)
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return document


DOCUMENT = _document()
keyed = _loaded(_without_security(DOCUMENT))
anonymous = _loaded(DOCUMENT)


def test_the_fuzzed_document_is_the_served_one(client):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.json() == json.loads(json.dumps(DOCUMENT, default=str))


@keyed.parametrize()
@FUZZ_SETTINGS
def test_with_a_full_key(case, full_key):
    response = case.call(headers={"X-API-Key": full_key})
    case.validate_response(response, checks=[*RESPONSE_CHECKS, negative_data_rejection])


@anonymous.parametrize()
@FUZZ_SETTINGS
def test_without_credentials(case, open_limits):
    response = case.call()
    case.validate_response(response, checks=RESPONSE_CHECKS)
