"""x402 on the local chain: a top-up's latency, and the 402 path's throughput.

    .venv/bin/python bench/payments.py [--topups 40] [--seconds 10] [--connections 16]

Same harness as every benchmark here (bench/harness.py: gunicorn with 2 sync
workers on PostgreSQL + Redis, wrk on loopback), with the service's X402_*
pointed at a local chain (billing/devchain.py, its own process) and the SDK's
facilitator in-process. Two tables:

1. Throughput, under wrk: `no auth (baseline)`, the bench site's trivial
   endpoint, against `POST /api/v1/topup/10` without a payment, which answers
   402 with both forms of the requirements (every answer of that row is a
   402, so its non-2xx column counts all of them).
2. Latency, one request at a time from one client (a paid top-up cannot be
   replayed, so wrk cannot drive it): the 402 again as the baseline, then
   complete top-ups paid with the SDK's client, each a fresh authorization
   signed before the clock starts: verify (signature, balance, simulated
   transfer) + reserve + settle (simulate again, broadcast, wait for the
   receipt) + credit.

Needs PostgreSQL, Redis and wrk (see bench/harness.py for the defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from eth_account import Account

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from billing.x402_buyer import payment_header


def start_chain() -> tuple[subprocess.Popen, dict[str, str]]:
    process = subprocess.Popen(
        [harness.PYTHON, "-m", "billing.devchain", "--port", "0"],
        cwd=harness.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(harness.ROOT)},
    )
    return process, json.loads(process.stdout.readline())


def post_script() -> str:
    fd, path = tempfile.mkstemp(suffix=".lua")
    with os.fdopen(fd, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = "{}"\n')
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
    return path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency_row(name: str, samples: list[float], base: float | None) -> str:
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    ratio = f"{p50 / base:.1f}x" if base else "-"
    mean = statistics.mean(samples)
    return f"| {name} | {len(samples)} | {p50:.1f} | {p99:.1f} | {mean:.1f} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topups", type=int, default=40, help="paid top-ups (10 USD each)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if args.topups > 90:
        raise SystemExit("the demo payer holds 1,000 tokens: at most 90 top-ups of 10")

    chain, config = start_chain()
    env = harness.bench_env(
        **{k: v for k, v in config.items() if k.startswith("X402_")},
        ANONYMOUS_RATE="1000000/m",
    )
    script = post_script()
    payer = Account.from_key(config["DEVCHAIN_PAYER_KEY"])
    load = {"seconds": args.seconds, "connections": args.connections}
    try:
        harness.ensure_database(env)
        with harness.gunicorn(env) as base:
            url = f"{base}/api/v1/topup/10"
            harness.warm(f"{base}/bench/noauth")
            baseline = harness.wrk("no auth (baseline)", f"{base}/bench/noauth", **load)
            asked = harness.wrk("402, no payment", url, script=script, **load)

            session = requests.Session()
            refused, paid = [], []
            for _ in range(max(args.topups, 20)):
                start = time.perf_counter()
                answer = session.post(url, json={}, timeout=30)
                refused.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 402, answer.text
            for _ in range(args.topups):
                answer = session.post(url, json={}, timeout=30)
                name, value = payment_header(answer.headers, answer.json(), payer, max_usd="10")
                start = time.perf_counter()
                done = session.post(url, json={}, headers={name: value}, timeout=60)
                paid.append((time.perf_counter() - start) * 1000)
                assert done.status_code == 200, done.text
    finally:
        os.unlink(script)
        chain.terminate()
        chain.wait(timeout=10)

    print(f"\nThroughput, {args.connections} connections, {args.seconds} s each\n")
    print(harness.TABLE_HEAD)
    for result in (baseline, asked):
        print(result.row(baseline))
    print("\nLatency, one request at a time, local chain (eth-tester py-evm over JSON-RPC)\n")
    print("| request | n | p50 ms | p99 ms | mean ms | p50 vs 402 |")
    print("|---|---:|---:|---:|---:|---:|")
    base50 = percentile(refused, 0.5)
    print(latency_row("402, no payment", refused, None))
    print(latency_row("top-up: verify + settle + credit", paid, base50))


if __name__ == "__main__":
    main()
