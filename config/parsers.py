"""The API's JSON parser: DRF's, with a bound on nesting.

Python's json module recurses once per level, so a body of 100,000 `[` raises
RecursionError, which DRF's parser does not catch: it surfaced as a 500. No
request body of ours is more than a few levels deep, so anything deeper than
MAX_JSON_DEPTH is refused as malformed input, whether or not it happened to fit
within the interpreter's recursion limit (which depends on the stack in use).
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32
TOO_DEEP = "JSON parse error - nested too deeply."


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Is any array or object in `value` more than `limit` levels deep? Iterative,
    so it cannot itself run out of stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if isinstance(data, dict | list) and nesting_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data
