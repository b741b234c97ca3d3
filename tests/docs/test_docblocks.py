"""How the docs test reads command blocks and matches shown output (tests/docs/docblocks.py)."""

import pytest

from tests.docs.docblocks import blocks, mismatch

DOC = """
Intro.

```sh
# a comment, not output
echo '{"a": 1}'
# {"a": 1}

# another comment
curl -s x \\
  -H y
```

<!-- docs-test: skip needs a second server -->

```sh
make run
```

```sh
printf 'one\\ntwo\\n'
```
```json
{"x": "…"}
```

```json
{"not": "attached"}
```
"""


def test_blocks_commands_shown_output_and_skips():
    found = blocks("DOC.md", DOC)
    assert [(b.line, b.skip) for b in found] == [
        (4, None),
        (16, "needs a second server"),
        (20, None),
    ]
    first = found[0].commands
    assert [(c.text, c.line, c.shown) for c in first] == [
        ("echo '{\"a\": 1}'", 6, ['{"a": 1}']),
        ("curl -s x \\\n  -H y", 10, []),
    ]
    assert found[2].commands[0].shown == ['{"x": "…"}']


def test_a_skip_without_a_reason_is_an_error():
    with pytest.raises(ValueError, match=r"DOC\.md:1: docs-test: skip needs a reason"):
        blocks("DOC.md", "<!-- docs-test: skip -->\n```sh\ntrue\n```\n")


@pytest.mark.parametrize(
    ("shown", "printed"),
    [
        (['{"a": 1, "b": "…"}'], '{"a":1,"b":[1,2]}'),
        (['{"key": "ek_live_…"}'], '{"key":"ek_live_abc"}'),
        (['{"a": 1, "…": "…"}'], '{"a":1,"more":true}'),
        (['{"r": [{"n": 1}, "…"]}'], '{"r":[{"n":1},{"n":2},{"n":3}]}'),
        (["Granted … USD; balance 5.000000 USD."], "Granted 1.000000 USD; balance 5.000000 USD.\n"),
        (["{", '    "x": 1'], '{\n    "x": 1\n'),
    ],
)
def test_matches(shown, printed):
    assert mismatch(shown, printed) is None


@pytest.mark.parametrize(
    ("shown", "printed", "problem"),
    [
        (['{"a": 1}'], '{"a":2}', "$.a: expected 1, got 2"),
        (['{"a": 1}'], '{"a":1,"b":2}', "$: missing keys [], unexpected keys ['b']"),
        (['{"a": true}'], '{"a":1}', "$.a: expected True, got 1"),
        (
            ['{"k": "ek_live_…"}'],
            '{"k":"ek_test_x"}',
            "$.k: expected a string like 'ek_live_…', got 'ek_test_x'",
        ),
        (['{"r": [1]}'], '{"r":[1,2]}', "$.r: expected 1 items, got 2"),
        (['{"a": 1}'], "oops", "expected JSON, got 'oops'"),
        (["204"], "200\n", "$: expected 204, got 200"),
        (["active"], "revoked\n", "expected a line like 'active', got 'revoked'"),
    ],
)
def test_mismatches_say_where(shown, printed, problem):
    assert mismatch(shown, printed) == problem
