"""The headline rows of every benchmark in one run, and one JSON object of ratios.

    .venv/bin/python bench/summary.py [--seconds 5] [--connections 16] [--rounds 3]
        [--signatures 25000] [--siwe 200] > summary.json

One gunicorn (2 sync workers, the project's full stack on PostgreSQL + Redis) and
one minimal Django beside it (bench/minimal), wrk -t2 on loopback. The rows
alternate over --rounds rounds (bench/rounds.py) and every answer's body is
checked; the verify rows also check the ledger (bench/verify.py). After each
round, --siwe returning wallets sign in one by one (SIWE latency, below the key
cap), once PostgreSQL has written out what the rows left behind
(harness.settle_database: a CHECKPOINT, then any running autovacuum). The tables
and progress go to stderr; stdout gets one JSON object:

    {"ratios": {"key/no-auth": {"median", "min", "max"}, "key/floor", "key/drf-api-key",
                "verify/key", "verify-with-cost/key", "wallet-signed/key",
                "no-auth/minimal-django"},
     "siwe_p50_ms": {"median", "min", "max"}, "verify_p99_ms": ...,
     "targets": {name: {"target", "value", "met"}}, "rows": {...},
     "load_average": {"start", "end"}, "problems": [...]}

Ratios are per round (rows of one round ran within a minute of each other) and
summarised as median with min and max. The process exits 1 when a row had a
wrong answer or a ledger check failed, whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import auth_overhead, rounds, verify, wallet_auth
from bench.harness import bench_env, ensure_database, gunicorn, settle_database

MINIMAL, NOAUTH, KEY = auth_overhead.MINIMAL, auth_overhead.NOAUTH, auth_overhead.OURS
RATIOS = {
    "key/no-auth": (KEY, NOAUTH),
    "key/floor": (KEY, auth_overhead.FLOOR),
    "key/drf-api-key": (KEY, auth_overhead.DRF),
    "verify/key": (verify.VERIFY, KEY),
    "verify-with-cost/key": (verify.VERIFY_COST, KEY),
    "wallet-signed/key": (wallet_auth.SIGNED, KEY),
    "no-auth/minimal-django": (NOAUTH, MINIMAL),
}
# Issue 13's targets: (at least, at most) on the median.
TARGETS = {
    "key/floor": (0.95, None),
    "key/drf-api-key": (1.6, None),
    "verify/key": (0.85, None),
    "verify-with-cost/key": (0.4, None),
    "wallet-signed/key": (0.7, None),
    "verify_p99_ms": (None, 10.0),
    "siwe_p50_ms": (None, 5.0),
}


def summary(values: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def seed(env: dict[str, str]) -> dict[str, Any]:
    """What the headline rows need in the database: the key rows' keys, the verify
    rows' gateway and customer keys, the wallet-signed row's key."""
    return {
        "keys": auth_overhead.seed(env),
        "gateway": verify.seed(env),
        "wallet_key": wallet_auth.seed(env)["key"],
    }


def headline_rows(
    full: str,
    minimal: str | None,
    env: dict[str, str],
    seeded: dict[str, Any],
    load: dict,
    signatures: int,
) -> list[rounds.Row]:
    """The headline rows against the project's server at `full` (and the minimal
    Django at `minimal`, when given), as seeded by `seed`."""
    rows = auth_overhead.key_rows(full, minimal, seeded["keys"], load)
    rows += verify.verify_rows(full, seeded["gateway"], env, load, with_key=False)
    rows += [
        r
        for r in wallet_auth.wallet_rows(full, seeded["wallet_key"], load, signatures)
        if r.name == wallet_auth.SIGNED
    ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--signatures", type=int, default=25_000, help="per round")
    ap.add_argument("--siwe", type=int, default=200, help="returning sign-ins per round")
    args = ap.parse_args()
    if args.rounds < 1:
        raise SystemExit("--rounds: at least 1")

    load_start = os.getloadavg()
    # The per-address anonymous limit must not throttle the sequential sign-ins.
    env = bench_env(ANONYMOUS_RATE="1000000/m")
    ensure_database(env)
    seeded = seed(env)
    load = {"seconds": args.seconds, "connections": args.connections, "threads": 2}

    siwe_p50: list[float] = []
    with (
        gunicorn(env, label="full") as full,
        gunicorn(env, app="bench.minimal.wsgi", label="minimal") as minimal,
    ):
        rows = headline_rows(full, minimal, env, seeded, load, args.signatures)
        stats: dict[str, rounds.Stats] = {}
        for n in range(args.rounds):
            # One round at a time, so that a SIWE sample follows every round.
            ordered = rows if n % 2 == 0 else list(reversed(rows))
            for name, s in rounds.run_rounds(ordered, 1).items():
                stats.setdefault(name, rounds.Stats(name)).results.extend(s.results)
            settled = settle_database(env)
            p50, _ = wallet_auth.siwe_returning(full, args.siwe)
            siwe_p50.append(p50)
            print(f"  round {n + 1}: SIWE returning p50 {p50:.2f} ms ({settled})", file=sys.stderr)
    stats = {row.name: stats[row.name] for row in rows}

    print(rounds.table(stats, NOAUTH), file=sys.stderr)
    ratios = {label: summary(stats[a].ratios(stats[b])) for label, (a, b) in RATIOS.items()}
    values = {name: r["median"] for name, r in ratios.items()}
    values["siwe_p50_ms"] = statistics.median(siwe_p50)
    values["verify_p99_ms"] = stats[verify.VERIFY].p99
    targets = {}
    for name, (low, high) in TARGETS.items():
        value = values[name]
        met = (low is None or value >= low) and (high is None or value <= high)
        targets[name] = {
            "target": f">= {low}" if low is not None else f"<= {high}",
            "value": round(value, 3),
            "met": met,
        }
    found = rounds.problems(stats)
    out = {
        "command": " ".join(["bench/summary.py", *sys.argv[1:]]),
        "load": f"wrk -t2 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds",
        "ratios": ratios,
        "siwe_p50_ms": summary(siwe_p50, 2),
        "verify_p99_ms": summary([r.p99_ms for r in stats[verify.VERIFY].results], 2),
        "targets": targets,
        "rows": {
            s.name: {
                "rps": summary(s.rps, 0),
                "p50_ms": round(s.p50, 2),
                "p99_ms": round(s.p99, 2),
                "answers_checked": s.ok + s.bad,
                "bad_answers": s.bad,
            }
            for s in stats.values()
        },
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "problems": found,
    }
    print(json.dumps(out, indent=1))
    if found:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
