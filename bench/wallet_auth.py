"""What wallet authentication costs: signed requests against API keys, and the
latency of a SIWE sign-in, on one gunicorn (2 sync workers) on PostgreSQL + Redis.

    .venv/bin/python bench/wallet_auth.py [--seconds 10] [--connections 16]
        [--rounds 3] [--signatures 40000] [--siwe 200]

Throughput (one trivial DRF endpoint with the project's default authentication,
permission and throttle classes, so only the credential differs), the two rows
alternating over --rounds rounds (bench/rounds.py), every answer checked:
- API key (X-API-Key), rate-limited per key: the baseline;
- wallet-signed request (X-Wallet-Address / X-Timestamp / X-Wallet-Signature):
  signature recovery, the single-use claim and the cached principal in one Redis
  round trip, rate-limited per wallet. A signature is accepted once, so
  --signatures distinct ones (distinct timestamps inside the ±5 minute window) are
  signed with eth-account (coincurve) before each round and each is sent once;
  every answer must be the endpoint's 200 body.

Latency (sequential POSTs from this process, one at a time, server-issued nonces
fetched over HTTP from the same gunicorn), three rows of --siwe sign-ins each:
- new wallet: account, organization, sign-up credit and a key;
- returning wallet: the same --siwe wallets sign in once more, each with one
  key, so well below the active-key cap: verify and issue a key. This is the
  typical sign-in;
- returning wallet at the cap: one wallet already holding API_KEY_MAX_ACTIVE
  active keys signs in again and again, so every sign-in also revokes its
  oldest sign-in key (the edge case, reported on its own).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account
from eth_account.messages import encode_defunct

from bench import lua, rounds
from bench.harness import Result, bench_env, ensure_database, gunicorn, run_python, warm, wrk

PATH = "/bench/ours"
THREADS = 2
# A fixed bench wallet, so that every run reuses one account (not a secret: bench only).
BENCH_WALLET = Account.from_key(hashlib.sha256(b"gatehouse wallet bench").digest())
# The first line of the signed text, as the server builds it
# (wallet.authentication.signed_message); the SIWE fields come from the nonce response.
SIGNED_PREFIX = os.environ.get("WALLET_AUTH_MESSAGE_PREFIX", "Eliza Cloud Authentication")
MAX_SIGNATURES = 200_000  # distinct milliseconds must stay inside the ±5 min window

SEED = """
import json
from django.conf import settings
from wallet.accounts import wallet_account_get_or_create
from apikeys.models import APIKey
from apikeys.services import apikey_create, apikey_revoke, forget_organization_keys

user, org, _ = wallet_account_get_or_create(address={address!r})
# No rate limit gets in the way of either row: the same per-minute ceiling for the
# wallet (its organization's plan limit) and for the key (its own limit).
org.plan, org.custom_rate_limit = "enterprise", 1_000_000
org.save()  # drops the wallet's cached principal (wallet.signals)
forget_organization_keys(org.pk)
for key in APIKey.objects.filter(organization=org).active():
    apikey_revoke(key=key)
_, full = apikey_create(organization=org, created_by=user, name="bench", rate_limit=1_000_000)
print(json.dumps({{"key": full, "cap": settings.API_KEY_MAX_ACTIVE}}))
"""


_last_ts = 0  # the latest X-Timestamp signed so far


def sign(account, text: str) -> str:
    return "0x" + account.sign_message(encode_defunct(text=text)).signature.hex()


def signed_header_sets(account, count: int, *, path: str) -> list[dict[str, str]]:
    """`count` single-use header sets with distinct millisecond timestamps, from 30 s
    ago onward (all inside the server's ±5 minute window for a few minutes)."""
    global _last_ts
    if count > MAX_SIGNATURES:
        raise SystemExit(f"--signatures: at most {MAX_SIGNATURES}")
    # Never a timestamp used before in this run (the warm-up's included).
    start = max(int(time.time() * 1000) - 30_000, _last_ts + 1)
    _last_ts = start + count - 1
    rows = []
    for i in range(count):
        ts = str(start + i)
        text = f"{SIGNED_PREFIX}\nTimestamp: {ts}\nMethod: GET\nPath: {path}"
        rows.append(
            {
                "X-Wallet-Address": account.address,
                "X-Timestamp": ts,
                "X-Wallet-Signature": sign(account, text),
            }
        )
    return rows


def warm_signed(base: str, rows: list[dict[str, str]]) -> None:
    """Warm the wallet path with its own signatures (a repeat would be a 401)."""
    conn = _connection(base)
    for headers in rows:
        conn.request("GET", PATH, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"warm-up signed request answered {response.status}")


def _connection(base: str) -> http.client.HTTPConnection:
    parts = urlsplit(base)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def siwe_message(account, nonce_body: dict) -> str:
    """The EIP-4361 text built from the nonce response (as static/js/siwe-login.js does)."""
    now = dt.datetime.now(dt.UTC)
    return "\n".join(
        [
            f"{nonce_body['domain']} wants you to sign in with your Ethereum account:",
            account.address,
            "",
            nonce_body["statement"],
            "",
            f"URI: {nonce_body['uri']}",
            f"Version: {nonce_body['version']}",
            f"Chain ID: {nonce_body['chainId']}",
            f"Nonce: {nonce_body['nonce']}",
            f"Issued At: {_iso(now)}",
            f"Expiration Time: {_iso(now + dt.timedelta(minutes=5))}",
        ]
    )


def siwe_latency(base: str, accounts: list) -> tuple[float, float]:
    """Fetch one nonce per account, sign them all, then time the verify POSTs one by
    one; (p50 ms, p99 ms). Every answer must be a 200."""
    conn = _connection(base)
    bodies = []
    for account in accounts:
        conn.request("GET", "/api/auth/siwe/nonce")
        response = conn.getresponse()
        nonce_body = json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"nonce answered {response.status}: {nonce_body}")
        text = siwe_message(account, nonce_body)
        bodies.append(json.dumps({"message": text, "signature": sign(account, text)}))
    samples = []
    for body in bodies:
        t0 = time.perf_counter()
        conn.request(
            "POST", "/api/auth/siwe/verify", body=body, headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        payload = response.read()
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status != 200:
            raise SystemExit(f"SIWE verify answered {response.status}: {payload[:300]!r}")
    return statistics.median(samples), _percentile(samples, 99)


def _percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = max(0, math.ceil(pct / 100 * len(ordered)) - 1)  # nearest rank
    return ordered[index]


HELLO = '"hello":"world"'
KEY = "API key + rate limit"
SIGNED = "wallet-signed request + rate limit"


def seed(env: dict[str, str]) -> dict:
    """The bench wallet's organization, with one API key; {"key", "cap"}."""
    return json.loads(run_python(env, SEED.format(address=BENCH_WALLET.address)).splitlines()[-1])


def signed_row(base: str, load: dict, signatures: int) -> rounds.Row:
    """Wallet-signed requests, each with its own signature, signed just before its
    round (so every timestamp is still inside the window)."""

    def run(_round: int) -> Result:
        t0 = time.perf_counter()
        rows = signed_header_sets(BENCH_WALLET, signatures, path=PATH)
        signing = time.perf_counter() - t0
        print(
            f"  {len(rows):,} signatures in {signing:.1f} s "
            f"({signing / len(rows) * 1e6:.0f} µs each)",
            file=sys.stderr,
        )
        script = lua.script(expect=HELLO, rows=rows, threads=load.get("threads", THREADS))
        try:
            result = wrk(SIGNED, base + PATH, script=script, **load)
        finally:
            lua.cleanup(script)
        if result.requests > len(rows):
            result.problems.append("more requests than signatures; raise --signatures")
        return result

    return rounds.Row(SIGNED, run)


def wallet_rows(base: str, key: str, load: dict, signatures: int) -> list[rounds.Row]:
    api_key = {"X-API-Key": key}
    warm(base + PATH, api_key)
    warm_signed(base, signed_header_sets(BENCH_WALLET, 50, path=PATH))
    return [
        rounds.wrk_row(KEY, base + PATH, expect=HELLO, headers=api_key, load=load),
        signed_row(base, load, signatures),
    ]


def siwe_returning(base: str, n: int) -> tuple[float, float]:
    """(p50, p99) ms of `n` returning wallets' sign-ins, below the key cap."""
    wallets = [Account.create() for _ in range(n)]
    siwe_latency(base, wallets)  # each wallet's first sign-in (untimed here)
    return siwe_latency(base, wallets)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--signatures", type=int, default=40_000, help="pre-signed requests")
    ap.add_argument("--siwe", type=int, default=200, help="SIWE sign-ins timed per row")
    args = ap.parse_args()

    # The per-IP anonymous limit must not throttle the sequential sign-ins.
    env = bench_env(ANONYMOUS_RATE="1000000/m")
    ensure_database(env)
    key = seed(env)
    load = {"seconds": args.seconds, "connections": args.connections, "threads": THREADS}

    with gunicorn(env) as base:
        stats = rounds.run_rounds(wallet_rows(base, key["key"], load, args.signatures), args.rounds)

        wallets = [Account.create() for _ in range(args.siwe)]
        fresh = siwe_latency(base, wallets)  # each wallet's first sign-in
        returning = siwe_latency(base, wallets)  # and its second: one key, far below the cap
        # The bench wallet has its "bench" key; sign-ins (untimed) fill it to the cap,
        # after which every sign-in also revokes the oldest sign-in key.
        siwe_latency(base, [BENCH_WALLET] * key["cap"])
        at_cap = siwe_latency(base, [BENCH_WALLET] * args.siwe)

    print(
        f"\nwallet_auth: gunicorn 2 sync workers, wrk -t{THREADS} -c{args.connections} "
        f"-d{args.seconds}s, {args.rounds} rounds, PostgreSQL + Redis on loopback; "
        f"endpoint {PATH}\n"
    )
    print(rounds.table(stats, KEY))
    ratio = rounds.spread(stats[SIGNED].ratios(stats[KEY]), "{:.2f}x")
    print(f"\nwallet-signed / API key throughput: {ratio}")

    print(f"\nSIWE verify, sequential POSTs (n = {args.siwe} each):\n")
    print("| sign-in | p50 ms | p99 ms |\n|---|---:|---:|")
    siwe_rows = [
        ("returning wallet, below the key cap (new key)", returning),
        (f"returning wallet at the {key['cap']}-key cap (new key, oldest revoked)", at_cap),
        ("new wallet (account + credits + key)", fresh),
    ]
    for label, (p50, p99) in siwe_rows:
        print(f"| {label} | {p50:.2f} | {p99:.2f} |")
    found = rounds.problems(stats)
    rounds.exit_on(found)


if __name__ == "__main__":
    main()
