import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apikeys import keyformat


def test_generated_key_shape_and_checksum():
    key = keyformat.generate("live")
    assert re.fullmatch(r"ek_live_[0-9A-Za-z]{38}", key)
    parsed = keyformat.parse(key)
    assert parsed is not None
    assert parsed.environment == "live"
    assert parsed.key == key
    assert keyformat.checksum(key[:-6]) == key[-6:]


def test_test_environment_and_unknown_environment():
    assert keyformat.generate("test").startswith("ek_test_")
    with pytest.raises(ValueError):
        keyformat.generate("prod")


def test_keys_are_unique_and_carry_enough_entropy():
    keys = {keyformat.generate() for _ in range(2000)}
    assert len(keys) == 2000
    # 32 base62 characters: 32 * log2(62) > 190 bits.
    assert keyformat.SECRET_LENGTH * 5.95 > 128 + 4 * 5.95


def test_prefix_comes_from_settings(settings):
    settings.API_KEY_PREFIX = "gh"
    key = keyformat.generate("test")
    assert key.startswith("gh_test_")
    assert keyformat.parse(key) is not None
    settings.API_KEY_PREFIX = "ek"
    assert keyformat.parse(key) is None


def test_one_changed_character_fails_the_checksum():
    key = keyformat.generate()
    for position in range(8, len(key)):
        replacement = "A" if key[position] != "A" else "B"
        assert keyformat.parse(key[:position] + replacement + key[position + 1 :]) is None


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ek_live_",
        "xx_live_" + "A" * 38,
        "ek_prod_" + "A" * 38,
        "ek-live-" + "A" * 38,
        "ek_live_" + "A" * 37,
        "ek_live_" + "A" * 39,
        "ek_live_" + "é" * 38,
        "ek_live_" + "A" * 31 + "!" + "A" * 6,
    ],
)
def test_malformed_keys(raw):
    assert keyformat.parse(raw) is None


def test_digest_and_hint():
    key = keyformat.generate()
    assert keyformat.digest(key) == keyformat.parse(key).digest
    assert re.fullmatch(r"[0-9a-f]{64}", keyformat.digest(key))
    assert keyformat.hint(key) == f"{key[:12]}…{key[-4:]}"
    assert key not in keyformat.hint(key)


@given(st.text(max_size=300))
def test_parse_never_raises(raw):
    assert keyformat.parse(raw) is None or raw.startswith("ek_")
