"""CPU time per request, by process, while wrk loads the headline rows.

    .venv/bin/python bench/cpu_per_request.py [--seconds 5] [--rounds 3]
        [--rows noauth,floor,key,drf,verify,verify-cost,wallet]

A throughput table says how fast each row was; this says where each row's time
went. It runs the same rows as bench/summary.py (the same wrk scripts, every
answer checked) on one gunicorn with 2 sync workers and reads, around each wrk
run, the CPU time (user + system, /proc) of:

- the gunicorn workers (the project's code, Django, DRF, the clients' libraries);
- every `redis-server` and every `postgres` process on the machine (the shared
  servers: run this on an otherwise idle machine, or their columns include
  other clients' work; PostgreSQL's include its background writers);
- wrk itself (the load generator: about the same for every row).

and divides each by the requests the run completed. The total is their sum. On
a machine whose cores are saturated, a row's throughput is close to
(cores * 10^6) / total µs, so the ratio of two rows' totals predicts the ratio
of their throughputs; where the measured ratio falls short of the predicted one,
the row left the cores idle (its workers waited: a commit's fsync, a row lock).
CPU time per request drifts with the machine too (a slower moment costs more
cycles per request), so the predicted ratios move from round to round almost as
much as the measured ones: read them for where the time goes, not as a steadier
figure. Rows alternate over rounds (bench/rounds.py); the tables show medians.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import auth_overhead, rounds, summary, verify, wallet_auth
from bench.harness import bench_env, cpu_seconds, ensure_database, gunicorn

# bench/summary.py's ratios, by this script's row names: (numerator, denominator).
PAIRS = {
    "key/no-auth": ("key", "noauth"),
    "key/floor": ("key", "floor"),
    "key/drf-api-key": ("key", "drf"),
    "verify/key": ("verify", "key"),
    "verify-with-cost/key": ("verify-cost", "key"),
    "wallet-signed/key": ("wallet", "key"),
}
GROUPS = ("workers", "redis", "postgres", "wrk")


def pids_named(name: str) -> list[int]:
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def children_of(parent: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def gunicorn_workers(port: str, *, wait: float = 10.0) -> list[int]:
    """The 2 workers of the gunicorn this process started on `port` (its health
    check answers once one worker is up; the other may still be forking)."""
    masters = [
        int(p)
        for p in subprocess.run(
            ["pgrep", "-P", str(os.getpid()), "-f", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
        ).stdout.split()
    ]
    if len(masters) != 1:
        raise SystemExit(f"expected one gunicorn master on port {port}, found {masters}")
    deadline = time.monotonic() + wait
    while len(workers := children_of(masters[0])) != 2:
        if time.monotonic() > deadline:
            raise SystemExit(f"expected 2 gunicorn workers, found {workers}")
        time.sleep(0.1)
    return workers


def snapshot(workers: list[int]) -> dict[str, float]:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "workers": sum(cpu_seconds(p) for p in workers),
        "redis": sum(cpu_seconds(p) for p in pids_named("redis-server")),
        "postgres": sum(cpu_seconds(p) for p in pids_named("postgres")),
        "wrk": children.ru_utime + children.ru_stime,
    }


def measured(row: rounds.Row, workers: list[int], per_request: dict[str, list[dict]]):
    """`row` whose every run also records its CPU µs per completed request by group."""

    def run(round_index: int):
        before = snapshot(workers)
        result = row.run(round_index)
        after = snapshot(workers)
        n = max(result.requests, 1)
        per_request.setdefault(row.name, []).append(
            {group: (after[group] - before[group]) / n * 1e6 for group in GROUPS}
        )
        return result

    return rounds.Row(row.name, run, row.after)


# This script's row names for bench/summary.py's headline rows (the minimal
# Django row aside: it runs on a server of its own).
SHORT_NAMES = {
    auth_overhead.NOAUTH: "noauth",
    auth_overhead.FLOOR: "floor",
    auth_overhead.OURS: "key",
    auth_overhead.DRF: "drf",
    verify.VERIFY: "verify",
    verify.VERIFY_COST: "verify-cost",
    wallet_auth.SIGNED: "wallet",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--signatures", type=int, default=25_000, help="per wallet-signed run")
    ap.add_argument("--rows", default="noauth,floor,key,drf,verify,verify-cost,wallet")
    args = ap.parse_args()

    env = bench_env(ANONYMOUS_RATE="1000000/m")
    ensure_database(env)
    load = {"seconds": args.seconds, "connections": args.connections, "threads": 2}
    load_start = os.getloadavg()[0]
    per_request: dict[str, list[dict]] = {}  # by row name (the tables' names)
    seeded = summary.seed(env)
    with gunicorn(env, label="cpu") as base:
        workers = gunicorn_workers(base.rsplit(":", 1)[1])
        available = {
            SHORT_NAMES[row.name]: row
            for row in summary.headline_rows(base, None, env, seeded, load, args.signatures)
        }
        wanted = args.rows.split(",")
        unknown = [name for name in wanted if name not in available]
        if unknown:
            raise SystemExit(f"unknown rows {unknown}; choose from {', '.join(available)}")
        rows = [measured(available[name], workers, per_request) for name in wanted]
        stats = rounds.run_rounds(rows, args.rounds)

    print(
        f"\ncpu_per_request: gunicorn 2 sync workers, wrk -t2 -c{args.connections} "
        f"-d{args.seconds}s, {args.rounds} rounds; load average {load_start:.2f} → "
        f"{os.getloadavg()[0]:.2f}\n"
    )
    print(
        "| row | requests/s | workers µs | Redis µs | PostgreSQL µs | wrk µs | total µs "
        "| predicted vs first row | measured vs first row |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    first = rows[0].name
    totals = {name: [sum(s.values()) for s in samples] for name, samples in per_request.items()}
    for row in rows:
        samples = per_request[row.name]
        cells = [statistics.median(s[g] for s in samples) for g in GROUPS]
        total = statistics.median(totals[row.name])
        predicted = statistics.median(
            a / b for a, b in zip(totals[first], totals[row.name], strict=True)
        )
        measured_ratio = statistics.median(stats[row.name].ratios(stats[first]))
        print(
            f"| {row.name} | {stats[row.name].median_rps:,.0f} | "
            + " | ".join(f"{c:,.0f}" for c in cells)
            + f" | {total:,.0f} | {predicted:.2f}x | {measured_ratio:.2f}x |"
        )
    print(
        "\n| ratio | predicted by CPU, median (min-max) "
        "| measured throughput, median (min-max) |\n|---|---:|---:|"
    )
    for label, (a, b) in PAIRS.items():
        if a in wanted and b in wanted:
            name_a, name_b = available[a].name, available[b].name
            predicted = [y / x for x, y in zip(totals[name_a], totals[name_b], strict=True)]
            measured_ratio = stats[name_a].ratios(stats[name_b])
            print(
                f"| {label} | {rounds.spread(predicted, '{:.2f}x')} "
                f"| {rounds.spread(measured_ratio, '{:.2f}x')} |"
            )
    rounds.exit_on(rounds.problems(stats))


if __name__ == "__main__":
    main()
