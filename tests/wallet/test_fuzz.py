"""Hypothesis: no header or message, however odd, makes a 500 or an acceptance."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import ValidationFailed
from tests.wallet.helpers import new_wallet, sign, siwe_text, siwe_verify, wallet_headers
from tests.wallet.test_authentication import call
from wallet.siwe_verify import SiweFailed

WALLET = new_wallet()


@pytest.fixture(autouse=True)
def _no_anonymous_limit(settings):
    """Hundreds of examples share one test's cache: the per-address limit of the
    anonymous routes would answer 429 long before the parser is exercised."""
    settings.ANONYMOUS_RATE = "1000000/m"


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HEADERS = ("X-Wallet-Address", "X-Timestamp", "X-Wallet-Signature")
# What a WSGI server can hand us in a header: latin-1 text.
header_text = st.text(alphabet=st.characters(max_codepoint=255, exclude_categories=["Cs"]))
near_valid = st.one_of(
    header_text,
    st.text(alphabet=string.hexdigits + "x", max_size=140),
    st.integers().map(str),
    st.just(WALLET.address),
    st.just(WALLET.address.lower()),
    st.just("0x" + "11" * 65),
)


@pytest.mark.django_db
@FUZZ
@given(
    values=st.fixed_dictionaries({}, optional={name: near_valid for name in HEADERS}),
)
def test_arbitrary_wallet_headers_never_500(values):
    status, body = call(headers=values)
    if not values:
        assert status in (401, 403)  # no credentials at all
    else:
        # 429 once the failures from this address pass AUTH_FAILURE_RATE.
        assert status in (400, 401, 429), body
        assert body["error"]["code"] in ("VALIDATION_ERROR", "UNAUTHORIZED", "RATE_LIMITED")


@pytest.mark.django_db
@FUZZ
@given(field=st.sampled_from(HEADERS), value=near_valid)
def test_one_mangled_header_of_a_good_request_is_refused(field, value):
    headers = wallet_headers(WALLET)
    if value == headers[field]:
        return
    headers[field] = value
    status, body = call(headers=headers)
    accepted_forms = (WALLET.address, WALLET.address.lower())
    if field == "X-Wallet-Address" and value in accepted_forms:
        assert status in (200, 401, 429)  # the same wallet, any accepted spelling
    else:
        assert status in (400, 401, 429), body


def _siwe_outcome(message: object, signature: object, **kwargs) -> str:
    try:
        siwe_verify(message=message, signature=signature, **kwargs)  # type: ignore[arg-type]
    except SiweFailed:
        return "401"
    except ValidationFailed:
        return "400"
    return "accepted"


@pytest.mark.django_db
@FUZZ
@given(message=st.text(max_size=600), headless=st.booleans())
def test_arbitrary_messages_are_refused_cleanly(message, headless):
    outcome = _siwe_outcome(message, sign(WALLET, message), headless=headless)
    assert outcome in ("400", "401")


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_mutated_sign_in_messages_are_refused_cleanly(data):
    text = siwe_text(WALLET, nonce="fuzzNonce1234")
    position = data.draw(st.integers(0, len(text) - 1))
    cut = data.draw(st.integers(0, 20))
    insert = data.draw(st.text(alphabet=string.printable, max_size=20))
    mutated = text[:position] + insert + text[position + cut :]
    if mutated == text:
        return
    # Signed by the right wallet, so only the parser and the checks stand in the way;
    # the nonce was never issued, so nothing may be accepted.
    assert _siwe_outcome(mutated, sign(WALLET, mutated)) in ("400", "401")


@pytest.mark.django_db
@FUZZ
@given(
    message=st.one_of(st.none(), st.integers(), st.floats(), st.lists(st.text()), st.text()),
    signature=st.one_of(st.none(), st.integers(), st.binary(), st.text(max_size=200)),
)
def test_wrong_types_are_400_or_401(message, signature):
    assert _siwe_outcome(message, signature) in ("400", "401")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=6,
)


@pytest.mark.django_db
@FUZZ
@given(body=st.dictionaries(st.sampled_from(["message", "signature", "x"]), json_values))
def test_verify_endpoint_never_500(api, body):
    response = api.post("/api/auth/siwe/verify", body, format="json")
    assert response.status_code in (400, 401), response.content


@pytest.mark.django_db
@FUZZ
@given(
    body=st.fixed_dictionaries(
        {"address": json_values, "message": json_values, "signature": json_values},
        optional={"name": json_values, "expiresAt": json_values, "permissions": json_values},
    )
)
def test_headless_creation_never_500(api, body):
    response = api.post("/api/v1/api-keys", body, format="json")
    assert response.status_code in (400, 401), response.content
