"""The verify endpoint's plain body check accepts only what VerifyIn accepts, and
makes the same of it (issue 13 item 1: no serializer on the hot path, the same
validation and errors). Checked against VerifyIn itself on generated bodies."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.principal import KNOWN_PERMISSIONS
from apikeys.serializers import VerifyIn, verify_body_fast
from tests.helpers import assert_plain_check_agrees

TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "ek_live_x", " chat ", "chat:write", "a" * 1001]),
)
ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
PERMISSIONS = st.one_of(
    st.lists(st.sampled_from(sorted(KNOWN_PERMISSIONS)), max_size=52),
    st.lists(st.one_of(TEXT, st.sampled_from(sorted(KNOWN_PERMISSIONS))), max_size=4),
    ANY,
)
COSTS = st.one_of(
    st.sampled_from(["0", "0.000001", " 1.5 ", "1.1234567", "-1", "1e3", "NaN", "100000"]),
    st.integers(min_value=-2, max_value=10**7),
    st.decimals(allow_nan=False, allow_infinity=False, places=7).map(str),
    ANY,
)
IPS = st.one_of(
    st.sampled_from(["203.0.113.9", " 10.0.0.1 ", "::1", "2001:db8::1", "999.1.1.1", ""]),
    st.ip_addresses().map(str),
    ANY,
)
REQUEST_IDS = st.one_of(
    st.sampled_from(["req-1", "a" * 100, "a" * 101, "bad id", "x.y:z_w-1"]), ANY
)
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "key": st.one_of(TEXT, ANY),
        "permissions": PERMISSIONS,
        "cost": COSTS,
        "ip": IPS,
        "requestId": REQUEST_IDS,
        "other": ANY,
    },
)


@settings(max_examples=600, deadline=None)
@given(body=st.one_of(BODIES, ANY, st.lists(ANY, max_size=2)))
def test_plain_check_agrees_with_the_serializer(body):
    assert_plain_check_agrees(verify_body_fast, VerifyIn, body)


@pytest.mark.parametrize(
    "body",
    [
        {"key": "k"},
        {"key": " k ", "permissions": ["chat", "verify"], "cost": "0.25"},
        {"key": "k", "cost": 3, "ip": " 203.0.113.9 ", "requestId": "req-1"},
        {"key": "k", "ip": "2001:DB8::1", "permissions": []},
    ],
)
def test_the_common_bodies_take_the_plain_path(body):
    serializer = VerifyIn(data=body)
    assert serializer.is_valid(), serializer.errors
    assert verify_body_fast(body) == dict(serializer.validated_data)


@settings(max_examples=400, deadline=None)
@given(permissions=PERMISSIONS, cost=COSTS, ip=IPS, request_id=REQUEST_IDS, data=st.data())
def test_plain_check_agrees_with_a_well_formed_key(permissions, cost, ip, request_id, data):
    fields = {"permissions": permissions, "cost": cost, "ip": ip, "requestId": request_id}
    chosen = data.draw(st.sets(st.sampled_from(sorted(fields))))
    body = {"key": "ek_live_abc", **{name: fields[name] for name in chosen}}
    assert_plain_check_agrees(verify_body_fast, VerifyIn, body)


def test_the_edges_go_to_the_serializer(settings):
    cap = settings.VERIFY_MAX_COST_USD
    refused = [
        {"key": "k", "cost": str(cap + 1)},
        {"key": "k", "cost": f"{cap}.000001"},
        {"key": "k", "cost": int(cap) + 1},
        {"key": "k" * 1001},
        {"key": "k\x00"},
        {"key": "k", "permissions": ["chat"] * 51},
        {"key": "k", "requestId": "a" * 101},
    ]
    for body in refused:
        assert not VerifyIn(data=body).is_valid(), body
        assert verify_body_fast(body) is None, body
    assert verify_body_fast({"key": "k", "cost": str(cap)}) == {
        "key": "k",
        "cost": int(cap) * 10**6,
    }
