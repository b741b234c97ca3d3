"""Command blocks of the Markdown docs, and how their shown output is matched.

The conventions (also in docs/README.md, "Docs that run"):

- Every ```sh block runs, in the order of the file, in one bash per file
  (`set -eu`: a failing command or an unset variable stops the file).
- A block preceded by `<!-- docs-test: skip REASON -->` (blank lines between
  allowed) does not run; the reason is required.
- Shown output: the `# ` lines directly under a command (no blank line between)
  are what it prints; or a ```json block right after the ```sh block is what its
  last command prints. Other `#` lines are comments.
- Matching: when the shown output is JSON, the printed output must be JSON of
  the same shape, where the string "…" matches any value, a string with "…" in
  it matches any string with the same start and end, an object with the entry
  "…": "…" may have more keys, and a list ending in "…" may have more items.
  Otherwise each shown line must match the printed line, "…" matching any text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b\s*(.*?)\s*-->")
ELLIPSIS = "…"


@dataclass
class Command:
    text: str
    line: int
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    path: str
    line: int
    commands: list[Command]
    skip: str | None = None
    end: int = 0  # index of its closing fence in the file's lines

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def blocks(path: str, text: str) -> list[Block]:
    """The ```sh blocks of one Markdown file, with their shown output."""
    lines = text.splitlines()
    found: list[Block] = []
    skip: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := SKIP.search(line):
            skip = m.group(1) or None
            if not skip:
                raise ValueError(f"{path}:{i + 1}: docs-test: skip needs a reason")
            i += 1
            continue
        fence = line.strip()
        if fence.startswith("```"):
            lang = fence[3:].strip()
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            body = lines[i + 1 : end]
            if lang == "sh":
                found.append(Block(path, i + 1, _commands(body, i + 2), skip, end))
            elif (
                lang == "json" and found and found[-1].commands and _only_blank(lines, found[-1], i)
            ):
                found[-1].commands[-1].shown = body
            skip = None
            i = end + 1
            continue
        if line.strip():
            skip = None  # a marker applies to the next block only, with nothing between
        i += 1
    return found


def _only_blank(lines: list[str], block: Block, fence_index: int) -> bool:
    """True when only blank lines separate `block`'s closing fence from line `fence_index`."""
    j = fence_index - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    return j == block.end


def _commands(body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    collecting = False  # inside the `# ` lines right under a command
    i = 0
    while i < len(body):
        line = body[i]
        stripped = line.strip()
        if not stripped:
            collecting = False
        elif stripped.startswith("#"):
            if collecting:
                commands[-1].shown.append(stripped[2:] if stripped.startswith("# ") else "")
        else:
            start = i
            parts = [line]
            while parts[-1].rstrip().endswith("\\") and i + 1 < len(body):
                i += 1
                parts.append(body[i])
            commands.append(Command("\n".join(parts), first_line + start))
            collecting = True
        i += 1
    return commands


def mismatch(shown: list[str], printed: str) -> str | None:
    """None when `printed` matches the `shown` output, else what differs."""
    expected_text = "\n".join(shown).strip()
    try:
        expected = json.loads(expected_text)
    except ValueError:
        return _lines_mismatch(shown, printed)
    try:
        actual = json.loads(printed)
    except ValueError:
        return f"expected JSON, got {printed[:300]!r}"
    return _json_mismatch(expected, actual, "$")


def _lines_mismatch(shown: list[str], printed: str) -> str | None:
    got = printed.rstrip("\n").split("\n") if printed.strip() else []
    if len(got) != len(shown):
        return f"expected {len(shown)} lines {shown!r}, got {len(got)}: {got!r}"
    for want, line in zip(shown, got, strict=True):
        if not _text_matches(want, line):
            return f"expected a line like {want!r}, got {line!r}"
    return None


def _text_matches(pattern: str, value: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split(ELLIPSIS))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _json_mismatch(expected: Any, actual: Any, where: str) -> str | None:
    if expected == ELLIPSIS:
        return None
    if isinstance(expected, str) and ELLIPSIS in expected:
        if isinstance(actual, str) and _text_matches(expected, actual):
            return None
        return f"{where}: expected a string like {expected!r}, got {actual!r}"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {actual!r}"
        open_ended = expected.get(ELLIPSIS) == ELLIPSIS
        keys = [k for k in expected if k != ELLIPSIS]
        missing = [k for k in keys if k not in actual]
        extra = [] if open_ended else [k for k in actual if k not in expected]
        if missing or extra:
            return f"{where}: missing keys {missing}, unexpected keys {extra}"
        for k in keys:
            if problem := _json_mismatch(expected[k], actual[k], f"{where}.{k}"):
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where}: expected a list, got {actual!r}"
        open_ended = bool(expected) and expected[-1] == ELLIPSIS
        items = expected[:-1] if open_ended else expected
        if len(actual) < len(items) or (not open_ended and len(actual) != len(items)):
            return f"{where}: expected {len(items)} items, got {len(actual)}"
        for n, item in enumerate(items):
            if problem := _json_mismatch(item, actual[n], f"{where}[{n}]"):
                return problem
        return None
    if expected != actual or type(expected) is not type(actual):
        return f"{where}: expected {expected!r}, got {actual!r}"
    return None
