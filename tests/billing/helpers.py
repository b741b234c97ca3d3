"""Kept so that older imports still work: the helpers live in tests/helpers.py."""

from tests.helpers import fresh_window, key_bucket  # noqa: F401  (re-exported)
