"""The `siwe` package's message model, with its grammar checks done once per value.

`siwe.SiweMessage` validates fields against the EIP-4361 and RFC 3986 ABNF
grammars, which the pure-Python `abnf` package evaluates slowly: about 0.9 ms
for a short URI and 0.5 ms for the statement. It also re-runs the date-time
rule every time a timestamp's `_datetime` is read (three to four times per
verification). `SiweMessage` here is the same model with the same checks; only
the repetition goes:

- a grammar check is a pure function of the text, so a URI, statement or
  request id that passed once passes again without re-parsing. In practice
  the URI and statement of nearly every message are the ones the nonce
  endpoint hands out, so they are parsed once per process;
- a timestamp is checked (grammar, then `fromisoformat`) once, when the model is
  built, and keeps the datetime it got;
- a timestamp's grammar check is remembered by its shape: the text with every
  ASCII digit written as "0". The grammar's `date-time` (RFC 3339, as the package
  spells it) matches digits only through the core rule DIGIT (%x30-39), never a
  particular digit, so a text and its shape pass or fail it together; the date's
  and time's ranges (month 13, hour 25) are `fromisoformat`'s to refuse, and it
  still runs on every value. Timestamps differ in every message, their shapes
  almost never (about 0.6 ms of abnf per timestamp saved; two per sign-in).
  tests/wallet/test_siwe_message.py pins the grammar this rests on.

Rejections are never remembered: a value that fails is parsed again each time
and fails again. The validators called are the package's own (pinned exactly
in pyproject.toml; tests/wallet/test_siwe_message.py checks that both models
accept and refuse the same values).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated

import siwe
from pydantic import BeforeValidator, field_validator
from siwe.siwe import (
    _validate_eip4361_rule,
    _validate_rfc3986_uri,
    datetime_from_iso8601_string,
)

# Distinct values remembered per grammar rule. A few are in real use (the
# configured origin and statement); the bound keeps a flood of distinct valid
# values from growing memory, and can only cost the time it would have cost anyway.
GRAMMAR_MEMO_SIZE = 256


@functools.lru_cache(maxsize=GRAMMAR_MEMO_SIZE)
def uri_checked(value: str) -> str:
    """RFC 3986 `URI` (ValueError if not), remembered when it passes."""
    return _validate_rfc3986_uri(value)


@functools.lru_cache(maxsize=GRAMMAR_MEMO_SIZE)
def rule_checked(rule: str, value: str) -> str:
    """An EIP-4361 grammar rule (ValueError if not), remembered when it passes."""
    return _validate_eip4361_rule(rule, value)


def _plain_str(value: object) -> object:
    # Remember plain strings only: the memo must key on the text itself, and a
    # str subclass could compare equal while behaving differently.
    return str(value) if isinstance(value, str) else value


def _uri(value: object) -> object:
    value = _plain_str(value)
    if not isinstance(value, str):
        return _validate_rfc3986_uri(value)  # the package's own refusal
    return uri_checked(value)


UriStr = Annotated[str, BeforeValidator(_uri)]


# Every ASCII digit to "0": a timestamp's shape (see the module docstring).
_DIGITS_TO_ZERO = str.maketrans("0123456789", "0000000000")


def timestamp_shape(value: str) -> str:
    return value.translate(_DIGITS_TO_ZERO)


@functools.lru_cache(maxsize=GRAMMAR_MEMO_SIZE)
def shape_checked(shape: str) -> str:
    """A timestamp shape against the rule the package uses, remembered when it passes."""
    return _validate_eip4361_rule("issued-at", shape)


def timestamp_parsed(value: str) -> dt.datetime:
    """`siwe.siwe.datetime_from_iso8601_string`, its grammar check remembered by shape.

    The package's function is the grammar rule "issued-at" (= date-time) on the
    text, then `fromisoformat`; here the rule runs on the shape (equivalent, see
    the module docstring), through the memo, and the conversion is the package's
    own call, on the text itself, every time."""
    if type(value) is not str:
        return datetime_from_iso8601_string(value)  # the package's own path
    try:
        shape_checked(timestamp_shape(value))
    except ValueError:
        return datetime_from_iso8601_string(value)  # refused in the package's own words
    # The package function's second line, verbatim (the test pins it to the source).
    return dt.datetime.fromisoformat(value.replace(".000Z", "Z").replace("Z", "+00:00"))


class Timestamp(siwe.ISO8601Datetime):
    """An RFC 3339 date-time checked once; `_datetime` returns what that check parsed."""

    def __init__(self, val: str):
        # Deliberately not calling the parent's __init__: it would run the same
        # check a second time and throw the result away.
        self._parsed = timestamp_parsed(val)

    @property
    def _datetime(self) -> dt.datetime:
        return self._parsed


class SiweMessage(siwe.SiweMessage):
    """`siwe.SiweMessage` whose grammar checks are memoised (see the module docstring).

    Every field keeps its constraint: the fields redeclared here only swap the
    validator for its memoised form, and the two methods override the parent's
    validators of the same name (pydantic replaces a validator by its name)."""

    uri: UriStr
    issued_at: Timestamp
    expiration_time: Timestamp | None = None
    not_before: Timestamp | None = None
    resources: list[UriStr] | None = None

    @field_validator("statement")
    @classmethod
    def validate_statement(cls, v: str | None) -> str | None:
        if v is not None:
            rule_checked("statement", _plain_str(v))
        return v

    @field_validator("request_id")
    @classmethod
    def validate_request_id(cls, v: str | None) -> str | None:
        if v is not None:
            rule_checked("request-id", _plain_str(v))
        return v
