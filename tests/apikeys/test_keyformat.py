import dataclasses
import hashlib
import re
import secrets
import string
import zlib

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


def test_every_secret_character_ranges_over_the_whole_alphabet():
    # 3,000 keys: a given character is missing from a given position with
    # probability (61/62)**3000 < 1e-21, so a secret drawn from too small a range
    # (a shorter or biased draw leaves a position stuck or short) fails here.
    start = len("ek_live_")
    secrets_ = [keyformat.generate()[start : start + keyformat.SECRET_LENGTH] for _ in range(3000)]
    for position in range(keyformat.SECRET_LENGTH):
        assert {s[position] for s in secrets_} == set(keyformat.BASE62), position


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


# --- expected values computed here, from zlib and hashlib, not from keyformat ----

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _crc32_base62(body: str) -> str:
    """The documented checksum, computed independently: CRC32 in 6 base62 digits."""
    number, digits = zlib.crc32(body.encode("ascii")), ""
    for _ in range(6):
        number, rem = divmod(number, 62)
        digits = _BASE62[rem] + digits
    assert number == 0  # 62**6 > 2**32: nothing left over
    return digits


def test_checksum_is_crc32_in_base62():
    body = "ek_live_" + "A" * 32
    assert keyformat.checksum(body) == _crc32_base62(body)
    for _ in range(50):
        key = keyformat.generate()
        assert key[-6:] == _crc32_base62(key[:-6])
    # A body whose CRC32 needs all six digits, and one whose needs few.
    for body in ("ek_test_" + "z" * 32, "x", ""):
        assert keyformat.checksum(body) == _crc32_base62(body)


def test_a_key_with_an_independently_computed_checksum_parses():
    body = "ek_test_" + "0123456789abcdefghijABCDEFGHIJkl"
    parsed = keyformat.parse(body + _crc32_base62(body))
    assert parsed == keyformat.ParsedKey(key=body + _crc32_base62(body), environment="test")


def test_digest_is_sha256_hex_of_the_whole_key():
    key = keyformat.generate()
    expected = hashlib.sha256(key.encode("ascii")).hexdigest()
    assert keyformat.digest(key) == expected
    assert keyformat.parse(key).digest == expected
    assert keyformat.parse(key).hint == f"{key[:12]}…{key[-4:]}"


def test_secret_characters_come_from_the_secrets_module(monkeypatch):
    """Keys are drawn from the OS CSPRNG (`secrets`), never from `random`: the
    secret is one draw below 62**32, written as 32 base62 digits."""
    drawn = []
    real_randbelow = secrets.randbelow

    def recording_randbelow(bound):
        value = real_randbelow(bound)
        drawn.append((bound, value))
        return value

    monkeypatch.setattr(secrets, "randbelow", recording_randbelow)
    key = keyformat.generate("live")
    assert [bound for bound, _ in drawn] == [62**32]
    number, digits = drawn[0][1], ""
    for _ in range(32):
        number, rem = divmod(number, 62)
        digits = _BASE62[rem] + digits
    assert key[8:40] == digits


def test_key_length_and_header_positions():
    assert keyformat.key_length() == 46  # "ek_live_" + 32 + 6
    body = "ek_live_" + "B" * 32
    good = body + _crc32_base62(body)
    assert keyformat.parse(good) is not None
    # The separator after the environment, and the one after the prefix, are checked.
    for position in (2, 7):
        bad = good[:position] + "x" + good[position + 1 :]
        bad = bad[:-6] + _crc32_base62(bad[:-6])
        assert keyformat.parse(bad) is None
    # Right length, alphabet and checksum, but not a string.
    assert keyformat.parse(good.encode()) is None


def test_parsed_key_is_frozen():
    parsed = keyformat.parse(keyformat.generate())
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.key = "other"


def test_looks_like_key():
    assert keyformat.looks_like_key("ek_live_anything")
    assert keyformat.looks_like_key("ek_test_")
    assert not keyformat.looks_like_key("ek_prod_x")
    assert not keyformat.looks_like_key("xx_live_x")


@pytest.mark.parametrize("prefix", ["", "A", "a" * 17, "a-b"])
def test_bad_prefix_setting_fails_loudly(settings, prefix):
    settings.API_KEY_PREFIX = prefix
    with pytest.raises(ValueError, match="API_KEY_PREFIX"):
        keyformat.generate()


@pytest.mark.parametrize(
    "body",
    [
        "ek_live_" + "A" * 31,  # one short, checksum right
        "ek_live_" + "A" * 33,  # one long, checksum right
        "ek_live_" + "A" * 31 + "!",  # right length, checksum right, bad alphabet
        "ek_live_" + "A" * 31 + "-",
    ],
)
def test_a_right_checksum_does_not_excuse_length_or_alphabet(body):
    assert keyformat.parse(body + _crc32_base62(body)) is None


def test_a_parsed_keys_repr_shows_neither_the_secret_nor_its_digest():
    full = keyformat.generate("live")
    parsed = keyformat.parse(full)
    shown = repr(parsed)
    assert full not in shown
    assert hashlib.sha256(full.encode()).hexdigest() not in shown
    assert shown == f"ParsedKey(environment='live', hint='{keyformat.hint(full)}')"


def test_presented_bounds_the_length_then_parses():
    full = keyformat.generate("test")
    assert keyformat.presented(full) == keyformat.parse(full)
    parsed = keyformat.parse(full)
    assert keyformat.presented(parsed) is parsed
    assert keyformat.presented(full + "x" * keyformat.MAX_HEADER_LENGTH) is None
