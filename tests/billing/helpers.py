"""Helpers shared by the billing tests."""

from apikeys import keycache, keyformat
from tests.helpers import fresh_window  # noqa: F401  (re-exported)


def key_bucket(full_key: str) -> str:
    """The rate bucket of a key (what KeyInfo.rate_bucket names)."""
    return keycache.rate_bucket(keyformat.digest(full_key))
