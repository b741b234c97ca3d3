"""wallet.replay: the marker's key and lifetime, worked out here from the rule."""

from __future__ import annotations

import hashlib
import time

import pytest

from wallet.replay import replay_marker

ADDRESS = "0xAbCdEf0000000000000000000000000000000001"


def test_marker_key_is_a_digest_of_the_lowercased_signer_and_the_text():
    key, _ = replay_marker(address=ADDRESS, message="GET /x 1", valid_until=0, now=0)
    digest = hashlib.sha256(f"{ADDRESS.lower()}\nGET /x 1".encode()).hexdigest()
    assert key == f"wallet:seen:{digest}"
    same, _ = replay_marker(address=ADDRESS.lower(), message="GET /x 1", valid_until=0, now=0)
    assert same == key
    other, _ = replay_marker(address=ADDRESS, message="GET /x 2", valid_until=0, now=0)
    assert other != key


@pytest.mark.parametrize(
    ("valid_until", "now", "seconds"),
    [
        (1000.0, 900.0, 101),  # the signature's remaining life plus one second
        (1000.0, 999.5, 2),  # a fraction of a second left rounds up
        (1000.0, 1000.0, 1),
        (1000.0, 1100.0, 1),  # already past: at least one second, never zero or negative
    ],
)
def test_marker_outlives_the_signature(valid_until, now, seconds):
    assert replay_marker(address=ADDRESS, message="m", valid_until=valid_until, now=now)[1] == (
        seconds
    )


def test_now_defaults_to_the_clock():
    before = time.time()
    _, seconds = replay_marker(address=ADDRESS, message="m", valid_until=before + 300)
    assert 300 <= seconds <= 301
