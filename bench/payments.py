"""x402 on the local chain: a top-up's latency, and the 402 path's throughput.

    .venv/bin/python bench/payments.py [--topups 40] [--seconds 5] [--connections 16] [--rounds 3]

Same harness as every benchmark here (bench/harness.py: gunicorn with 2 sync
workers on PostgreSQL + Redis, wrk on loopback), with the service's X402_*
pointed at a local chain (billing/devchain.py, its own process) and the SDK's
facilitator in-process. Two tables:

1. Throughput under wrk, rows alternating over --rounds rounds (bench/rounds.py),
   every answer checked: `no auth (full stack)`, the bench site's trivial
   endpoint, against `POST /api/v1/topup/10` without a payment, whose every
   answer must be a 402 with the PAYMENT_REQUIRED envelope.
2. Latency, one request at a time from one client (a paid top-up cannot be
   replayed, so wrk cannot drive it): the 402 again as the baseline, then
   complete top-ups paid with the SDK's client, each a fresh authorization
   signed before the clock starts: verify (signature, balance, simulated
   transfer) + reserve + settle (simulate again, broadcast, wait for the
   receipt) + credit. Every top-up must answer 200 `settled` with the balance
   10 USD above the last one.

Needs PostgreSQL, Redis and wrk (see bench/harness.py for the defaults). Exits 1
when any answer was wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import requests
from eth_account import Account

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, rounds
from bench.auth_overhead import HELLO, NOAUTH
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
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.topups > 90:
        raise SystemExit("the demo payer holds 1,000 tokens: at most 90 top-ups of 10")
    if args.topups < 1 or args.rounds < 1:
        raise SystemExit("--topups and --rounds: at least 1")

    chain, config = start_chain()
    env = harness.bench_env(
        **{k: v for k, v in config.items() if k.startswith("X402_")},
        ANONYMOUS_RATE="1000000/m",
    )
    payer = Account.from_key(config["DEVCHAIN_PAYER_KEY"])
    load = {"seconds": args.seconds, "connections": args.connections}
    problems: list[str] = []
    try:
        harness.ensure_database(env)
        with harness.gunicorn(env) as base:
            url = f"{base}/api/v1/topup/10"
            harness.warm(f"{base}/bench/noauth")
            rows = [
                rounds.wrk_row(NOAUTH, f"{base}/bench/noauth", expect=HELLO, load=load),
                rounds.wrk_row(
                    ASKED,
                    url,
                    expect='"PAYMENT_REQUIRED"',
                    status=402,
                    method="POST",
                    body="{}",
                    headers={"Content-Type": "application/json"},
                    load=load,
                ),
            ]
            stats = rounds.run_rounds(rows, args.rounds)
            problems += rounds.problems(stats)
            refused, paid = latencies(url, payer, args.topups, problems)
    finally:
        chain.terminate()
        chain.wait(timeout=10)

    print(
        f"\nThroughput, {args.connections} connections, {args.seconds} s a run, "
        f"{args.rounds} rounds\n"
    )
    print(rounds.table(stats, NOAUTH))
    print("\nLatency, one request at a time, local chain (eth-tester py-evm over JSON-RPC)\n")
    print("| request | n | p50 ms | p99 ms | mean ms | p50 vs 402 |")
    print("|---|---:|---:|---:|---:|---:|")
    base50 = percentile(refused, 0.5)
    print(latency_row(ASKED, refused, None))
    print(latency_row("top-up: verify + settle + credit", paid, base50))
    rounds.exit_on(problems)


ASKED = "402, no payment"


def latencies(url: str, payer, topups: int, problems: list[str]) -> tuple[list[float], list[float]]:
    """(402 latencies, paid top-up latencies) in ms; wrong answers go to `problems`."""
    session = requests.Session()
    refused, paid = [], []
    for _ in range(max(topups, 20)):
        start = time.perf_counter()
        answer = session.post(url, json={}, timeout=30)
        refused.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 402 or "PAYMENT_REQUIRED" not in answer.text:
            problems.append(f"402 row: {answer.status_code} {answer.text[:200]}")
    balance = None
    for _ in range(topups):
        answer = session.post(url, json={}, timeout=30)
        name, value = payment_header(answer.headers, answer.json(), payer, max_usd="10")
        start = time.perf_counter()
        done = session.post(url, json={}, headers={name: value}, timeout=60)
        paid.append((time.perf_counter() - start) * 1000)
        body = done.json()
        # Each top-up credits the payer's account: its balance climbs by exactly 10.
        expected = None if balance is None else f"{Decimal(balance) + 10:.6f}"
        if done.status_code != 200 or body.get("status") != "settled":
            problems.append(f"top-up: {done.status_code} {done.text[:200]}")
        elif expected is not None and body["balance"] != expected:
            problems.append(f"top-up: balance {body['balance']}, expected {expected}")
        balance = body.get("balance")
    return refused, paid


if __name__ == "__main__":
    main()
