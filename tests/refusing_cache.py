"""A cache backend that fails the test on any access: proves a code path does no cache I/O."""

from django.core.cache.backends.base import BaseCache


class RefusingCache(BaseCache):
    def __init__(self, location=None, params=None):
        super().__init__(params or {})

    def __getattribute__(self, name):
        if name in {
            "add",
            "get",
            "set",
            "touch",
            "delete",
            "get_many",
            "set_many",
            "delete_many",
            "incr",
            "decr",
            "has_key",
            "clear",
            "get_or_set",
        }:
            raise AssertionError(f"unexpected cache access: {name}")
        return super().__getattribute__(name)
