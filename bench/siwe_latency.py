"""SIWE sign-in latency alone: returning wallets below the key cap, over HTTP.

    .venv/bin/python bench/siwe_latency.py [-n 200] [--rounds 3]

The same measurement as bench/summary.py's SIWE figure (bench/wallet_auth.py's
`siwe_returning`: sequential POSTs, server-issued nonces, each wallet's first
sign-in untimed) on one gunicorn with 2 sync workers, without the wrk rows around
it, so a change to the sign-in can be judged in a minute. Prints p50 and p99 per
round and their medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import wallet_auth
from bench.harness import bench_env, ensure_database, gunicorn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200, help="returning sign-ins per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    env = bench_env(ANONYMOUS_RATE="1000000/m")
    ensure_database(env)
    p50s, p99s = [], []
    print(f"load average at start: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with gunicorn(env) as base:
        for n in range(1, args.rounds + 1):
            p50, p99 = wallet_auth.siwe_returning(base, args.n)
            p50s.append(p50)
            p99s.append(p99)
            print(f"round {n}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(
        f"median of {args.rounds} rounds: p50 {statistics.median(p50s):.2f} ms, "
        f"p99 {statistics.median(p99s):.2f} ms (load average at end "
        f"{os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
