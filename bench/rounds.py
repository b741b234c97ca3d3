"""Rows that alternate over rounds, reported as medians with their min-max.

One wrk run of a row is one sample; a round runs every row once, in the table's
order on even rounds and in reverse on odd ones, so that no row always runs
first (on a warm or a cold machine) or always right after a heavy neighbour.
Ratios are taken per round (the two rows ran minutes apart at most) and their
median is reported with the range, so a skeptic sees how much they moved.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import harness, lua
from bench.harness import Result


@dataclass
class Row:
    """A benchmark row: `run(round_index)` performs one wrk run and returns its Result.
    `after(result)` may add problems (a ledger that disagrees, say)."""

    name: str
    run: Callable[[int], Result]
    after: Callable[[Result], None] | None = None


@dataclass
class Stats:
    name: str
    results: list[Result] = field(default_factory=list)

    @property
    def rps(self) -> list[float]:
        return [r.rps for r in self.results]

    @property
    def median_rps(self) -> float:
        return statistics.median(self.rps)

    @property
    def p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.results)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.results)

    @property
    def bad(self) -> int:
        return sum(r.bad for r in self.results)

    @property
    def ok(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def problems(self) -> list[str]:
        found = [p for r in self.results for p in r.problems]
        found += [f"{r.bad} bad answers, first: {r.sample}" for r in self.results if r.bad]
        return found

    def ratios(self, base: Stats) -> list[float]:
        """Per round: this row's requests/s over the base row's."""
        return [a.rps / b.rps for a, b in zip(self.results, base.results, strict=True) if b.rps]


def run_rounds(rows: list[Row], rounds: int, *, pause: float = 1.0) -> dict[str, Stats]:
    """Run every row once per round, alternating the order; Stats per row name."""
    stats = {row.name: Stats(row.name) for row in rows}
    for n in range(rounds):
        order = rows if n % 2 == 0 else list(reversed(rows))
        for row in order:
            result = row.run(n)
            result.name = row.name
            if row.after is not None:
                row.after(result)
            stats[row.name].results.append(result)
            flag = " FAILED" if result.failed else ""
            print(
                f"  round {n + 1}/{rounds}: {row.name}: {result.rps:,.0f} req/s, "
                f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms{flag}",
                file=sys.stderr,
            )
            time.sleep(pause)  # let the last row's stragglers finish
    return stats


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    """median (min-max)."""
    return (
        f"{fmt.format(statistics.median(values))} "
        f"({fmt.format(min(values))}-{fmt.format(max(values))})"
    )


TABLE_HEAD = (
    "| variant | requests/s median (min-max) | p50 ms | p99 ms | vs {base} median (min-max) "
    "| answers checked | bad |\n|---|---:|---:|---:|---:|---:|---:|"
)


def table(stats: dict[str, Stats], base: str) -> str:
    lines = [TABLE_HEAD.format(base=base)]
    for s in stats.values():
        ratio = spread(s.ratios(stats[base]), "{:.2f}x")
        lines.append(
            f"| {s.name} | {spread(s.rps)} | {s.p50:.2f} | {s.p99:.2f} | {ratio} "
            f"| {s.ok + s.bad:,} | {s.bad} |"
        )
    return "\n".join(lines)


def problems(stats: dict[str, Stats]) -> list[str]:
    return [f"{s.name}: {p}" for s in stats.values() for p in s.problems]


def exit_on(found: list[str]) -> None:
    """Print each problem and exit 1 if there is any: a wrong answer voids the table."""
    for problem in found:
        print(f"FAILED: {problem}")
    if found:
        raise SystemExit(1)


def wrk_row(
    name: str,
    url: str,
    *,
    expect: str,
    load: dict,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: str | None = None,
    status: int | None = None,
    after: Callable[[Result], None] | None = None,
) -> Row:
    """A row that loads one URL with one fixed request and checks every answer
    (a 2xx holding `expect`, or exactly `status` when given)."""

    def run(_round: int) -> Result:
        path = lua.script(
            expect=expect,
            method=method,
            body=body,
            headers=headers,
            threads=load.get("threads", 2),
            status=status,
        )
        try:
            return harness.wrk(name, url, script=path, **load)
        finally:
            lua.cleanup(path)

    return Row(name, run, after)
