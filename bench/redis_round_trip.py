"""What one Redis round trip costs the client and the server, by how it is made.

    .venv/bin/python bench/redis_round_trip.py [-n 20000] [--rounds 3]

The API-key hot path reads its key's record and counts its rate and usage in one
round trip (config.cache.read_and_count). Made as a redis-py pipeline (MGET and
two INCRs) it cost the Python client far more than one command does: a pipeline
object, three packed commands, three parsed replies. Made as one script
(EVALSHA) the client packs and parses one command and Redis runs a little Lua.
This prints both beside the floor (one GET of a missing key, the benchmark's
floor row), per call: the client's CPU (`time.process_time`) and redis-server's
CPU (its /proc stat; so Redis must run on this machine), alternating over
--rounds rounds, medians. The keys are this script's own (prefix bench:rt:) on
BENCH_REDIS_URL's database, deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20_000, help="calls per variant and round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    os.environ.update(harness.bench_env())
    import django

    django.setup()
    from django.core.cache import cache

    from config.cache import read_and_count, redis_client

    client = redis_client()
    if client is None:
        raise SystemExit("needs Redis behind the default cache (BENCH_REDIS_URL)")
    server_pid = int(client.info("server")["process_id"])
    names = ["bench:rt:record", "bench:rt:used", "bench:rt:seen", "bench:rt:known"]
    counter, usage = "bench:rt:counter", "bench:rt:usage"
    cache.set(names[0], {"record": "x" * 200}, timeout=600)

    def floor() -> None:
        cache.get("bench:rt:missing")

    def pipeline() -> None:
        # The hot path's round trip as it was made before (a redis-py pipeline).
        make_key = cache.make_key
        pipe = client.pipeline(transaction=False)
        pipe.mget([make_key(name) for name in names])
        pipe.incr(make_key(counter))
        pipe.incr(make_key(usage))
        pipe.execute()

    def script() -> None:
        read_and_count(names, counter, 70, also_count=(usage, 90_000))

    variants = {"one GET (the floor)": floor, "pipeline MGET + 2 INCR": pipeline}
    variants["script (read_and_count)"] = script
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, call in variants.items():
            for _ in range(500):
                call()
            server0, client0 = harness.cpu_seconds(server_pid), time.process_time()
            for _ in range(args.n):
                call()
            client_us = (time.process_time() - client0) / args.n * 1e6
            server_us = (harness.cpu_seconds(server_pid) - server0) / args.n * 1e6
            results[name].append((client_us, server_us))
    cache.delete_many([*names, counter, usage])

    print(f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds of {args.n:,} calls")
    print("| round trip | client CPU µs/call | redis-server CPU µs/call | total |")
    print("|---|---:|---:|---:|")
    for name, rows in results.items():
        c = statistics.median(r[0] for r in rows)
        s = statistics.median(r[1] for r in rows)
        print(f"| {name} | {c:.1f} | {s:.1f} | {c + s:.1f} |")


if __name__ == "__main__":
    main()
