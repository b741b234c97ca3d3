"""The X-Wallet-* signed-request scheme, through a real DRF view."""

from __future__ import annotations

import hashlib
import logging
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import override_settings
from eth_keys.constants import SECPK1_N
from rest_framework.authentication import BaseAuthentication
from rest_framework.response import Response

from accounts.models import Membership, Organization
from accounts.principal import AuthMethod
from billing.services import balance_micros
from tests.helpers import cache_ttl, failure_window, rate_limited
from tests.own_cache import clear_own_keys
from tests.wallet.helpers import (
    WHOAMI_PATH,
    WhoAmI,
    call,
    factory,
    new_wallet,
    sign,
    wallet_headers,
)
from wallet.accounts import wallet_account_get_or_create
from wallet.authentication import WalletSignatureAuthentication, signed_message
from wallet.principals import principal_cache_key

PATH = WHOAMI_PATH


class AlwaysAlice(BaseAuthentication):
    """Another scheme that would accept anyone: wallet failures must not fall through."""

    def authenticate(self, request):
        user = get_user_model().objects.get_or_create(username="fallback")[0]
        return user, None


class WhoAmIWithFallback(WhoAmI):
    authentication_classes = [WalletSignatureAuthentication, AlwaysAlice]


def error(code, message, details=None):
    body = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


@pytest.mark.django_db
def test_first_request_creates_the_account_and_authenticates(wallet):
    status, body = call(headers=wallet_headers(wallet))
    assert status == 200
    user = get_user_model().objects.get(wallet_address=wallet.address)
    org = Organization.objects.get(memberships__user=user)
    assert body == {
        "method": AuthMethod.WALLET.value,
        "organizationId": str(org.pk),
        "userId": str(user.pk),
        "rateLimit": 60,
        "environment": "live",
        "permissions": [],
        "walletAddress": wallet.address,
        "keyId": None,
    }
    assert balance_micros(organization=org) == 5_000_000


@pytest.mark.django_db
def test_known_wallet_costs_no_database_query(wallet, django_assert_num_queries):
    assert call(headers=wallet_headers(wallet))[0] == 200
    with django_assert_num_queries(0):
        status, body = call(headers=wallet_headers(wallet, timestamp_ms=_now_ms() + 1))
    assert status == 200
    assert body["walletAddress"] == wallet.address


@pytest.mark.django_db
def test_known_wallet_with_cold_cache_costs_one_query(wallet, django_assert_num_queries):
    wallet_account_get_or_create(address=wallet.address)
    clear_own_keys()
    with django_assert_num_queries(1):  # its ownership, with user and organization
        assert call(headers=wallet_headers(wallet))[0] == 200


@pytest.mark.django_db
def test_lowercase_address_header_is_accepted(wallet):
    status, body = call(headers=wallet_headers(wallet, address=wallet.address.lower()))
    assert status == 200
    assert body["walletAddress"] == wallet.address


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_method_is_part_of_the_signature(wallet, method):
    assert call(method, headers=wallet_headers(wallet, method=method))[0] == 200
    headers = wallet_headers(wallet, method="GET")
    assert call(method, headers=headers) == (
        401,
        error("UNAUTHORIZED", "Invalid wallet signature"),
    )


@pytest.mark.django_db
def test_query_string_is_not_signed(wallet):
    assert call(path=PATH + "?page=2&x=%20", headers=wallet_headers(wallet))[0] == 200


@pytest.mark.django_db
def test_path_is_signed(wallet):
    headers = wallet_headers(wallet, path="/api/v1/other")
    assert call(headers=headers) == (401, error("UNAUTHORIZED", "Invalid wallet signature"))


@pytest.mark.django_db
@override_settings(WALLET_AUTH_MAX_SKEW_SECONDS=90)
def test_window_follows_the_setting(wallet):
    assert call(headers=wallet_headers(wallet, timestamp_ms=_now_ms() - 80_000))[0] == 200
    headers = wallet_headers(wallet, timestamp_ms=_now_ms() - 100_000)
    assert call(headers=headers) == (
        401,
        error("UNAUTHORIZED", "X-Timestamp is more than 90 seconds from server time"),
    )


@pytest.mark.django_db
def test_timestamp_just_inside_the_window_is_accepted(wallet):
    for offset in (-290_000, 290_000):
        headers = wallet_headers(wallet, timestamp_ms=_now_ms() + offset)
        assert call(headers=headers)[0] == 200


@pytest.mark.django_db
def test_plan_change_takes_effect_at_once(wallet, django_capture_on_commit_callbacks):
    assert call(headers=wallet_headers(wallet))[1]["rateLimit"] == 60
    org = Organization.objects.get()
    org.plan = "pro"
    with django_capture_on_commit_callbacks(execute=True):
        org.save()
    assert call(headers=wallet_headers(wallet, timestamp_ms=_now_ms() + 1))[1]["rateLimit"] == 300


@pytest.mark.django_db
@override_settings(WALLET_AUTH_MESSAGE_PREFIX="Gatehouse Authentication")
def test_first_line_is_a_setting(wallet):
    headers = wallet_headers(wallet)
    assert call(headers=headers)[0] == 200
    ts = str(_now_ms() + 5)
    old = f"Eliza Cloud Authentication\nTimestamp: {ts}\nMethod: GET\nPath: {PATH}"
    headers = {
        "X-Wallet-Address": wallet.address,
        "X-Timestamp": ts,
        "X-Wallet-Signature": sign(wallet, old),
    }
    assert call(headers=headers)[0] == 401


@pytest.mark.django_db
def test_message_is_exactly_the_documented_text(wallet):
    ts = str(_now_ms())
    text = f"Eliza Cloud Authentication\nTimestamp: {ts}\nMethod: GET\nPath: {PATH}"
    assert signed_message(timestamp=ts, method="get", path=PATH) == text
    headers = {
        "X-Wallet-Address": wallet.address,
        "X-Timestamp": ts,
        "X-Wallet-Signature": sign(wallet, text),
    }
    assert call(headers=headers)[0] == 200


@pytest.mark.django_db
def test_replay_is_refused(wallet):
    headers = wallet_headers(wallet)
    assert call(headers=headers)[0] == 200
    assert call(headers=headers) == (
        401,
        error("UNAUTHORIZED", "Wallet signature already used; sign each request anew"),
    )


@pytest.mark.django_db
def test_replay_with_the_malleable_twin_signature_is_refused(wallet):
    headers = wallet_headers(wallet)
    assert call(headers=headers)[0] == 200
    raw = bytes.fromhex(headers["X-Wallet-Signature"][2:])
    s = int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + (SECPK1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    assert twin != raw
    status, body = call(headers={**headers, "X-Wallet-Signature": "0x" + twin.hex()})
    assert (status, body["error"]["message"]) == (
        401,
        "Wallet signature already used; sign each request anew",
    )


@pytest.mark.django_db
def test_replay_marker_lives_as_long_as_the_signature(wallet):
    signed_at_ms = _now_ms() + 200_000
    headers = wallet_headers(wallet, timestamp_ms=signed_at_ms)
    assert call(headers=headers)[0] == 200
    text = signed_message(timestamp=headers["X-Timestamp"], method="GET", path=PATH)
    digest = hashlib.sha256(f"{wallet.address.lower()}\n{text}".encode()).hexdigest()
    # The signature is acceptable until its timestamp + 300 s; the marker lives
    # that long plus a second (read from the cache: Redis or local memory).
    left = signed_at_ms / 1000 + 300 - time.time()
    assert left - 3 < cache_ttl(f"wallet:seen:{digest}") <= left + 2


@pytest.mark.django_db
@pytest.mark.parametrize("offset_ms", [-301_000, 301_000, -86_400_000, 10**12])
def test_timestamp_outside_five_minutes_is_refused(wallet, offset_ms):
    headers = wallet_headers(wallet, timestamp_ms=_now_ms() + offset_ms)
    assert call(headers=headers) == (
        401,
        error("UNAUTHORIZED", "X-Timestamp is more than 5 minutes from server time"),
    )


@pytest.mark.django_db
def test_signature_of_another_wallet_is_refused(wallet):
    headers = wallet_headers(new_wallet(), address=wallet.address)
    assert call(headers=headers) == (401, error("UNAUTHORIZED", "Invalid wallet signature"))
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_unrecoverable_signature_is_refused(wallet):
    headers = {**wallet_headers(wallet), "X-Wallet-Signature": "0x" + "ff" * 65}
    assert call(headers=headers) == (401, error("UNAUTHORIZED", "Invalid wallet signature"))


@pytest.mark.django_db
def test_failure_does_not_fall_back_to_other_credentials(wallet):
    headers = wallet_headers(new_wallet(), address=wallet.address)
    assert call(headers=headers, view=WhoAmIWithFallback)[0] == 401
    assert call(headers={"X-Timestamp": "1"}, view=WhoAmIWithFallback)[0] == 401


@pytest.mark.django_db
def test_no_wallet_header_lets_the_next_scheme_try():
    class Who(WhoAmIWithFallback):
        def get(self, request):
            return Response({"username": request.user.username})

    assert call(view=Who) == (200, {"username": "fallback"})


@pytest.mark.django_db
def test_disabled_user_is_refused_at_once(wallet, django_capture_on_commit_callbacks):
    assert call(headers=wallet_headers(wallet))[0] == 200
    user = get_user_model().objects.get()
    user.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    headers = wallet_headers(wallet, timestamp_ms=_now_ms() + 1)
    assert call(headers=headers) == (401, error("UNAUTHORIZED", "This account is disabled"))


@pytest.mark.django_db
def test_removed_membership_drops_the_cached_principal(wallet, django_capture_on_commit_callbacks):
    assert call(headers=wallet_headers(wallet))[0] == 200
    assert cache.get(principal_cache_key(wallet.address)) is not None
    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.all().delete()
    assert cache.get(principal_cache_key(wallet.address)) is None


@pytest.mark.django_db
def test_failures_are_logged_with_reason_and_ip(wallet, caplog):
    headers = wallet_headers(new_wallet(), address=wallet.address)
    with caplog.at_level(logging.WARNING, logger="gatehouse.auth"):
        call(headers=headers)
    assert [r.getMessage() for r in caplog.records] == [
        f"Unauthorized access attempt: wallet signature does not recover {wallet.address} "
        f"for GET '{PATH}' from 127.0.0.1"
    ]


@pytest.mark.django_db
def test_changed_wallet_address_stops_the_old_one_at_once(
    wallet, django_capture_on_commit_callbacks
):
    assert call(headers=wallet_headers(wallet))[0] == 200
    user = get_user_model().objects.get()
    user.wallet_address = new_wallet().address
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    assert cache.get(principal_cache_key(wallet.address)) is None
    # The old address is now an unknown wallet: it gets an account of its own.
    status, body = call(headers=wallet_headers(wallet, timestamp_ms=_now_ms() + 1))
    assert status == 200
    assert body["userId"] != str(user.pk)


@pytest.mark.django_db
def test_a_foreign_value_in_the_principal_cache_is_ignored(wallet):
    wallet_account_get_or_create(address=wallet.address)
    cache.set(principal_cache_key(wallet.address), "garbage", 60)
    status, body = call(headers=wallet_headers(wallet))
    assert status == 200
    assert body["walletAddress"] == wallet.address


@pytest.mark.django_db
@override_settings(WALLET_PRINCIPAL_CACHE_SECONDS=0)
def test_principal_cache_can_be_turned_off(wallet):
    assert call(headers=wallet_headers(wallet))[0] == 200
    assert cache.get(principal_cache_key(wallet.address)) is None


@pytest.mark.django_db
@override_settings(AUTH_FAILURE_RATE="3/m")
def test_past_the_failure_limit_failing_attempts_get_429_and_good_ones_pass(wallet):
    forged = wallet_headers(new_wallet(), address=wallet.address)
    failure_window()
    assert [call(headers=forged)[0] for _ in range(3)] == [401, 401, 401]
    response = WhoAmI.as_view()(factory.get(PATH, headers=forged))
    response.render()
    rate_limited(response)
    assert call(headers=wallet_headers(wallet))[0] == 200


@pytest.mark.django_db
def test_401_names_the_scheme(wallet):
    request = factory.get(PATH, headers={"X-Timestamp": "1"})
    response = WhoAmI.as_view()(request)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("present", "missing"),
    [
        (["X-Wallet-Address"], "X-Timestamp, X-Wallet-Signature"),
        (["X-Timestamp"], "X-Wallet-Address, X-Wallet-Signature"),
        (["X-Wallet-Signature"], "X-Wallet-Address, X-Timestamp"),
        (["X-Wallet-Address", "X-Timestamp"], "X-Wallet-Signature"),
        (["X-Wallet-Address", "X-Wallet-Signature"], "X-Timestamp"),
        (["X-Timestamp", "X-Wallet-Signature"], "X-Wallet-Address"),
    ],
)
def test_one_or_two_headers_is_a_401_naming_the_missing(wallet, present, missing):
    full = wallet_headers(wallet)
    status, body = call(headers={name: full[name] for name in present})
    assert (status, body) == (
        401,
        error(
            "UNAUTHORIZED",
            "Wallet authentication needs X-Wallet-Address, X-Timestamp, X-Wallet-Signature;"
            f" missing: {missing}",
        ),
    )


@pytest.mark.django_db
def test_empty_header_counts_as_present(wallet):
    full = wallet_headers(wallet)
    assert call(headers={**full, "X-Timestamp": ""})[0] == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("X-Wallet-Address", "0x1234", "must be 0x followed by 40 hexadecimal digits."),
        ("X-Wallet-Address", "0x" + "G" * 40, "must be 0x followed by 40 hexadecimal digits."),
        ("X-Timestamp", "soon", "must be Unix time in milliseconds (digits only)."),
        ("X-Timestamp", "-1700000000000", "must be Unix time in milliseconds (digits only)."),
        ("X-Timestamp", "1e12", "must be Unix time in milliseconds (digits only)."),
        ("X-Timestamp", "9" * 40, "must be Unix time in milliseconds (digits only)."),
        ("X-Timestamp", "1700000000000.5", "must be Unix time in milliseconds (digits only)."),
        (
            "X-Wallet-Signature",
            "0x" + "ab" * 64,
            "must be 65 bytes as 0x-prefixed hex (132 characters).",
        ),
        (
            "X-Wallet-Signature",
            "0x" + "zz" * 65,
            "must be 65 bytes as 0x-prefixed hex (132 characters).",
        ),
    ],
)
def test_malformed_header_is_a_400(wallet, header, value, reason):
    headers = {**wallet_headers(wallet), header: value}
    assert call(headers=headers) == (
        400,
        error("VALIDATION_ERROR", f"{header} {reason}", {"fields": {header: [reason]}}),
    )
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_non_ascii_digits_are_not_a_timestamp(wallet):
    request = factory.get(PATH)
    headers = wallet_headers(wallet)
    request.META.update(
        HTTP_X_WALLET_ADDRESS=headers["X-Wallet-Address"],
        HTTP_X_WALLET_SIGNATURE=headers["X-Wallet-Signature"],
        # Arabic-Indic digits: str.isdigit() is True for them.
        HTTP_X_TIMESTAMP="\u0661\u0667" + "\u0660" * 11,
    )
    response = WhoAmI.as_view()(request)
    assert response.status_code == 400


def _now_ms() -> int:
    return int(time.time() * 1000)
