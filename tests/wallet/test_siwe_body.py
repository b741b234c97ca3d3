"""The SIWE sign-in's plain body check accepts only what SiweVerifySerializer
accepts and makes the same of it, and its plain answer is what SiweSignInOut
renders (issue 13 item 5: the same validation, errors and body, without building a
serializer on the sign-in's path)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Organization, Plan, User
from tests.helpers import assert_plain_check_agrees
from wallet.serializers import SiweSignInOut, SiweVerifySerializer, siwe_body_fast
from wallet.signin import SignIn
from wallet.siwe_verify import MAX_MESSAGE_CHARS

HEX = "0123456789abcdefABCDEF"
SIGNATURES = st.one_of(
    st.text(alphabet=HEX, min_size=128, max_size=132).map(lambda t: "0x" + t),
    st.text(alphabet=HEX, min_size=130, max_size=130),
    st.text(alphabet=HEX, min_size=130, max_size=130).map(lambda t: "0X" + t),
    st.sampled_from(["", "0x", "0x" + "g" * 130, " 0x" + "a" * 130, "0x" + "a" * 130 + "\x00"]),
    st.text(max_size=140),
)
MESSAGES = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "a\x00b",
            " leading and trailing ",
            "x" * MAX_MESSAGE_CHARS,
            "x" * (MAX_MESSAGE_CHARS + 1),
            "caf\u00e9",
            "\ud800",
        ]
    ),
)
ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text())
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "message": st.one_of(MESSAGES, ANY),
        "signature": st.one_of(SIGNATURES, ANY),
        "other": ANY,
    },
)


@settings(max_examples=800, deadline=None)
@given(body=st.one_of(BODIES, ANY, st.lists(ANY, max_size=2)))
def test_plain_check_agrees_with_the_serializer(body):
    assert_plain_check_agrees(siwe_body_fast, SiweVerifySerializer, body)


@pytest.mark.parametrize(
    "body",
    [
        {"message": "example.com wants you to sign in", "signature": "0x" + "ab" * 65},
        {"message": " as signed \n", "signature": "AB" * 65, "other": 1},
        {"message": "x" * MAX_MESSAGE_CHARS, "signature": "0X" + "0F" * 65},
    ],
)
def test_the_common_bodies_take_the_plain_path(body):
    serializer = SiweVerifySerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    assert siwe_body_fast(body) == dict(serializer.validated_data)


@pytest.mark.parametrize(
    "body",
    [
        {"message": "", "signature": "0x" + "ab" * 65},
        {"message": "a\x00b", "signature": "0x" + "ab" * 65},
        {"message": "x" * (MAX_MESSAGE_CHARS + 1), "signature": "0x" + "ab" * 65},
        {"message": "caf\u00e9", "signature": "0x" + "ab" * 65},
        {"message": "m", "signature": "0x" + "ab" * 64},
        {"message": "m", "signature": 12},
        {"message": 12, "signature": "0x" + "ab" * 65},
        {"signature": "0x" + "ab" * 65},
        ["message", "signature"],
    ],
)
def test_the_edges_go_to_the_serializer(body):
    assert not SiweVerifySerializer(data=body).is_valid(), body
    assert siwe_body_fast(body) is None, body


@pytest.mark.parametrize(
    ("wallet", "plan", "new"),
    [("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", Plan.FREE, True), (None, Plan.PRO, False)],
)
def test_the_plain_answer_is_what_the_serializer_renders(wallet, plan, new):
    user = User(id=uuid.uuid4(), username="0xabc", wallet_address=wallet)
    org = Organization(id=uuid.uuid4(), name="Wallet 0x5aAe…BeAd", slug="wallet-5aae", plan=plan)
    result = SignIn("ek_live_secret", None, user, org, new)
    rendered = SiweSignInOut.render(result)
    assert rendered == SiweSignInOut(result).data
    assert rendered == {
        "apiKey": "ek_live_secret",
        "user": {"id": str(user.pk), "username": "0xabc", "walletAddress": wallet},
        "organization": {
            "id": str(org.pk),
            "name": "Wallet 0x5aAe…BeAd",
            "slug": "wallet-5aae",
            "plan": plan.value,
        },
        "isNewAccount": new,
    }
    assert type(rendered["organization"]["plan"]) is str
