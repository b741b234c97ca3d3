"""Item 3 of issue 9 (SPEC §4): AUTH_FAILURE_RATE must not lock valid keys out.

The attack: garbage SIWE posts from an address many clients share (an office
NAT, a proxy that is not in TRUSTED_PROXIES) push it over AUTH_FAILURE_RATE;
after that every key behind it that was not in the cache (just created, or idle
longer than the cache keeps a record) was refused with 429. Valid credentials
must pass; failing ones still get 429, and the locked-out address buys at most a
few database lookups a minute."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from apikeys import keyformat
from tests.helpers import failure_window
from tests.security.conftest import as_key, as_wallet, error

pytestmark = pytest.mark.django_db(transaction=True)

GARBAGE_SIWE = {"message": "not a sign-in message", "signature": "0x" + "11" * 65}
# SPEC §4: "at most a few database lookups a minute" for a locked-out address.
FEW = 3


@pytest.fixture
def locked_out(settings):
    """Lock 127.0.0.1 (the test client's address) out, the way the attack did."""
    settings.AUTH_FAILURE_RATE = "5/m"
    failure_window()

    def lock() -> None:
        api = APIClient()
        for _ in range(6):
            r = api.post("/api/auth/siwe/verify", GARBAGE_SIWE, format="json")
            assert r.status_code in (401, 429), r.json()
        wrong = keyformat.generate()  # well formed, unknown
        assert error(as_key(wrong).get("/api/v1/dashboard")) == (429, "RATE_LIMITED")

    return lock


def test_new_key_passes_from_a_locked_out_address(locked_out, make_key):
    locked_out()
    _, full = make_key(name="created after the lock-out")  # never used: not cached
    r = as_key(full).get("/api/v1/dashboard")
    assert r.status_code == 200, r.json()


def test_key_created_before_the_lockout_and_never_used_passes(locked_out, make_key):
    _, full = make_key(name="cold")
    locked_out()
    r = as_key(full).get("/api/v1/dashboard")
    assert r.status_code == 200, r.json()


def test_idle_key_passes_from_a_locked_out_address(locked_out, make_key, settings):
    settings.API_KEY_CACHE_SECONDS = 1
    _, full = make_key(name="idle")
    assert as_key(full).get("/api/v1/dashboard").status_code == 200  # cached now
    time.sleep(1.5)  # idle longer than the cache keeps the record
    locked_out()
    r = as_key(full).get("/api/v1/dashboard")
    assert r.status_code == 200, r.json()


def test_failing_attempts_still_get_429_after_a_valid_one(locked_out, make_key):
    locked_out()
    _, full = make_key()
    assert as_key(full).get("/api/v1/dashboard").status_code == 200
    # (A malformed key is refused with a 401 before any I/O, locked out or not.)
    for wrong in (keyformat.generate(), keyformat.generate("test")):
        assert error(as_key(wrong).get("/api/v1/dashboard")) == (429, "RATE_LIMITED")


def test_wallet_signature_passes_from_a_locked_out_address(locked_out, wallet):
    locked_out()
    r = as_wallet(APIClient(), wallet, "GET", "/api/v1/dashboard")
    assert r.status_code == 200, r.json()


def test_locked_out_address_gets_only_a_few_lookups(
    locked_out, make_key, django_assert_max_num_queries
):
    """Regression guard (this held before the fix too): made-up well-formed keys
    from a locked-out address cannot buy a database lookup each."""
    locked_out()
    with django_assert_max_num_queries(FEW):
        for _ in range(30):
            r = as_key(keyformat.generate()).get("/api/v1/dashboard")
            assert error(r) == (429, "RATE_LIMITED")
