from decimal import Decimal

import pytest

from billing.money import format_usd, parse_usd
from config.errors import ValidationFailed


@pytest.mark.parametrize(
    ("value", "micros"),
    [
        ("5", 5_000_000),
        ("12.5", 12_500_000),
        ("0.000001", 1),
        (3, 3_000_000),
        (Decimal("0.002"), 2_000),
        (" 1.50 ", 1_500_000),
        ("1000000000", 10**15),
    ],
)
def test_parse_usd(value, micros):
    assert parse_usd(value) == micros


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", "must be positive."),
        ("-1", "must be positive."),
        ("1.0000001", "has more than 6 decimals."),
        ("abc", 'must be a decimal number such as "12.5".'),
        ("", 'must be a decimal number such as "12.5".'),
        ("1e3", 'must be a decimal number such as "12.5".'),
        ("NaN", 'must be a decimal number such as "12.5".'),
        ("1000000000.000001", "must be at most 1000000000 USD."),
        ("9" * 40, 'must be a decimal number such as "12.5".'),
        (None, "must be a decimal string or an integer."),
        ([1], "must be a decimal string or an integer."),
    ],
)
def test_parse_usd_rejects(value, reason):
    with pytest.raises(ValidationFailed) as exc:
        parse_usd(value, field="usd")
    assert exc.value.details == {"fields": {"usd": [reason]}}


def test_parse_usd_refuses_floats_and_bools():
    for value in (0.5, True):
        with pytest.raises(ValidationFailed):
            parse_usd(value)


def test_zero_allowed_when_asked():
    assert parse_usd("0", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("micros", "text"),
    [(5_000_000, "5.000000"), (1, "0.000001"), (0, "0.000000"), (-2_000, "-0.002000")],
)
def test_format_usd(micros, text):
    assert format_usd(micros) == text


def test_the_32_character_input_cap():
    assert parse_usd("0" * 31 + "1") == 1_000_000  # 32 characters: read
    with pytest.raises(ValidationFailed) as exc:
        parse_usd("0" * 32 + "1", field="usd")  # 33: refused unread
    assert exc.value.details == {"fields": {"usd": ['must be a decimal number such as "12.5".']}}


def test_blank_text_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        parse_usd("   ", field="usd")
    assert exc.value.details == {"fields": {"usd": ['must be a decimal number such as "12.5".']}}


def test_the_maximum_itself_is_accepted(settings):
    settings.MAX_CREDIT_AMOUNT_USD = 7
    assert parse_usd("7") == 7_000_000
    assert parse_usd(7) == 7_000_000
    with pytest.raises(ValidationFailed):
        parse_usd("7.000001")


def test_negative_is_refused_when_zero_is_allowed():
    with pytest.raises(ValidationFailed) as exc:
        parse_usd("-0.000001", field="usd", allow_zero=True)
    assert exc.value.details == {"fields": {"usd": ["must not be negative."]}}
    assert exc.value.message == "usd must not be negative."
    assert parse_usd("0.000001", allow_zero=True) == 1


def test_six_decimals_and_the_seventh():
    assert parse_usd("1.123456") == 1_123_456
    assert parse_usd("0.00001") == 10
    with pytest.raises(ValidationFailed):
        parse_usd("0.0000001")
