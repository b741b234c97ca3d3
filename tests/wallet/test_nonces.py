"""wallet.nonces: the lifetimes the code stores, read back from the cache (both backends)."""

from __future__ import annotations

import types

import pytest
from django.core.cache import cache
from django.core.cache.backends import locmem

from tests.helpers import cache_ttl
from wallet import nonces
from wallet.nonces import nonce_claim, nonce_issue

FIVE_MINUTES = 300
ELEVEN_MINUTES = 660
LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_issued_nonce_is_stored_for_five_minutes():
    nonce = nonce_issue()
    assert FIVE_MINUTES - 2 < cache_ttl(f"siwe:nonce:{nonce}") <= FIVE_MINUTES


def test_used_marker_is_stored_for_eleven_minutes():
    nonce = nonce_issue()
    assert nonce_claim(nonce, allow_client_nonce=False) is True
    assert ELEVEN_MINUTES - 2 < cache_ttl(f"siwe:used:{nonce}") <= ELEVEN_MINUTES
    assert cache.get(f"siwe:nonce:{nonce}") is None  # consumed


def test_client_nonce_marker_is_stored_for_eleven_minutes():
    assert nonce_claim("headlessNonce42", allow_client_nonce=True) is True
    assert ELEVEN_MINUTES - 2 < cache_ttl("siwe:used:headlessNonce42") <= ELEVEN_MINUTES


@pytest.fixture
def cache_clock(settings, monkeypatch):
    """The local-memory cache's own clock, settable: expiry without sleeping."""
    settings.CACHES = LOCAL
    offset = [0.0]
    real = locmem.time.time
    monkeypatch.setattr(locmem, "time", types.SimpleNamespace(time=lambda: real() + offset[0]))

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def test_issued_nonce_expires_after_five_minutes(cache_clock):
    kept, lost = nonce_issue(), nonce_issue()
    cache_clock(FIVE_MINUTES - 2)
    assert nonce_claim(kept, allow_client_nonce=False) is True
    cache_clock(3)  # 301 s after issue
    assert nonce_claim(lost, allow_client_nonce=False) is False


def test_used_marker_blocks_a_replay_for_eleven_minutes(cache_clock):
    nonce = nonce_issue()
    assert nonce_claim(nonce, allow_client_nonce=False) is True
    cache_clock(ELEVEN_MINUTES - 2)
    assert nonce_claim(nonce, allow_client_nonce=True) is False
    cache_clock(3)  # the marker has gone; the issued nonce went long ago
    assert nonce_claim(nonce, allow_client_nonce=False) is False


def test_nonce_shape():
    nonce = nonce_issue()
    assert len(nonce) == 24 and nonce.isascii() and nonce.isalnum()
    assert nonces.NONCE_LENGTH == 24


def test_a_drawn_nonce_that_is_already_issued_is_drawn_again(monkeypatch):
    drawn = iter("A" * 24 + "A" * 24 + "B" * 24)
    monkeypatch.setattr(nonces.secrets, "choice", lambda _alphabet: next(drawn))
    assert nonce_issue() == "A" * 24
    assert nonce_issue() == "B" * 24  # "A"*24 is taken: redrawn, not extended
    assert cache.get("siwe:nonce:" + "A" * 24) == 1
