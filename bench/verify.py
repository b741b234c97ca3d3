"""POST /api/v1/keys/verify under load: requests/s and p50/p99, with and without a cost.

    .venv/bin/python bench/verify.py [--seconds 10] [--connections 16] [--rounds 3]

Same harness as every benchmark here (bench/harness.py: gunicorn with 2 sync
workers on PostgreSQL + Redis, wrk on loopback), rows alternating over --rounds
rounds (bench/rounds.py). Rows:

- `no auth (full stack)`: the bench site's trivial endpoint without any guard;
- `API key + rate limit`: the same endpoint behind the project's default
  authentication: the baseline the verify rows are compared with, since a
  gateway's verify call replaces that check;
- `verify, no cost`: the caller's key is authenticated and throttled, the
  verified key is looked up, its permission checked and its rate counter
  incremented, and the organization's balance read;
- `verify, cost 0.000001`: the same plus a debit of one micro-USD per call.

Every answer of a verify row must say `"valid":true,"code":"VALID"`; the run
counts the customer's usage ledger rows before and after each verify row: none
may appear without a cost, and with one the new rows must match the VALID
answers (up to the requests still in flight when wrk stopped, at most one per
connection), and the balance must equal the ledger's sum.

Needs PostgreSQL, Redis and wrk (see bench/harness.py for the defaults).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench import harness, rounds
from bench.harness import Result

SEED = """
import json, uuid
from accounts.services import organization_create
from apikeys.services import apikey_create
from billing.models import EntryKind
from billing.services import credits_grant

suffix = uuid.uuid4().hex[:8]
gateway_org = organization_create(name="Bench gateway", slug=f"bench-gw-{suffix}")
customer = organization_create(name="Bench customer", slug=f"bench-cu-{suffix}")
credits_grant(organization=customer, amount_micros=10**9, kind=EntryKind.TOPUP)
_, gateway = apikey_create(
    organization=gateway_org, name="gateway", permissions=["verify"], rate_limit=1_000_000
)
_, key = apikey_create(organization=customer, name="customer", rate_limit=1_000_000)
print(json.dumps({"gateway": gateway, "key": key, "customer": str(customer.pk)}))
"""

VALID = '"valid":true,"code":"VALID"'
HELLO = '"hello":"world"'
NOAUTH = "no auth (full stack)"
KEY = "API key + rate limit"
VERIFY = "verify, no cost"
VERIFY_COST = "verify, cost 0.000001"
COST_MICROS = 1


def seed(env: dict[str, str]) -> dict[str, str]:
    return json.loads(harness.run_python(env, SEED).strip().splitlines()[-1])


class Ledger:
    """The customer's usage rows and balance, read straight from PostgreSQL."""

    def __init__(self, url: str, organization_id: str):
        self.url, self.org = url, organization_id

    def state(self) -> tuple[int, int, int]:
        """(usage rows, balance, ledger sum) of the customer, in one snapshot."""
        with psycopg.connect(self.url) as conn:
            rows, ledger_sum, balance = conn.execute(
                "SELECT count(*) FILTER (WHERE kind = 'usage'), coalesce(sum(amount_micros), 0),"
                " (SELECT balance_micros FROM billing_creditaccount WHERE organization_id = %s)"
                " FROM billing_ledgerentry WHERE organization_id = %s",
                [self.org, self.org],
            ).fetchone()
        return rows, balance, int(ledger_sum)


def checked_row(row: rounds.Row, ledger: Ledger, *, charged: bool, connections: int) -> rounds.Row:
    """Wrap a verify row with the ledger check around each of its runs."""

    def run(n: int) -> Result:
        before, _, _ = ledger.state()
        result = row.run(n)
        time.sleep(1)  # requests still in flight when wrk stopped are answered by now
        after, balance, ledger_sum = ledger.state()
        added = after - before
        if balance != ledger_sum:
            result.problems.append(f"balance {balance} != ledger sum {ledger_sum}")
        if not charged and added:
            result.problems.append(f"{added} ledger rows written without a cost")
        if charged and not result.ok <= added <= result.ok + connections:
            result.problems.append(f"{added} ledger rows for {result.ok} VALID answers")
        if charged:
            print(
                f"  ledger: {added:,} usage rows for {result.ok:,} VALID answers "
                f"(+{added - result.ok} in flight when wrk stopped)",
                file=sys.stderr,
            )
        return result

    return rounds.Row(row.name, run)


def verify_rows(
    base: str, keys: dict[str, str], env: dict[str, str], load: dict, *, with_key: bool = True
) -> list[rounds.Row]:
    gateway = {"Authorization": f"Bearer {keys['gateway']}", "Content-Type": "application/json"}
    body = {"key": keys["key"], "permissions": ["chat:write"]}
    url = f"{base}/api/v1/keys/verify"
    ledger = Ledger(env["DATABASE_URL"], keys["customer"])
    for cost in (None, "0.000001"):
        payload = json.dumps(body if cost is None else {**body, "cost": cost}).encode()
        harness.warm(url, gateway, n=20, data=payload, method="POST")
    harness.warm(f"{base}/bench/noauth")
    harness.warm(f"{base}/bench/ours", {"X-API-Key": keys["key"]})
    plain = rounds.wrk_row(
        VERIFY, url, expect=VALID, load=load, method="POST", headers=gateway, body=json.dumps(body)
    )
    costly = rounds.wrk_row(
        VERIFY_COST,
        url,
        expect=VALID,
        load=load,
        method="POST",
        headers=gateway,
        body=json.dumps({**body, "cost": "0.000001"}),
    )
    n = load["connections"]
    rows = [
        checked_row(plain, ledger, charged=False, connections=n),
        checked_row(costly, ledger, charged=True, connections=n),
    ]
    if with_key:
        rows.insert(
            0,
            rounds.wrk_row(
                KEY,
                f"{base}/bench/ours",
                expect=HELLO,
                headers={"X-API-Key": keys["key"]},
                load=load,
            ),
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    env = harness.bench_env()
    harness.ensure_database(env)
    keys = seed(env)
    load = {"seconds": args.seconds, "connections": args.connections}
    with harness.gunicorn(env) as base:
        rows = [
            rounds.wrk_row(NOAUTH, f"{base}/bench/noauth", expect=HELLO, load=load),
            *verify_rows(base, keys, env, load),
        ]
        stats = rounds.run_rounds(rows, args.rounds)

    print(
        f"\nPOST /api/v1/keys/verify, {args.connections} connections, {args.seconds} s per row, "
        f"{args.rounds} rounds\n"
    )
    print(rounds.table(stats, KEY))
    for name in (VERIFY, VERIFY_COST):
        ratio = rounds.spread(stats[name].ratios(stats[KEY]), "{:.2f}x")
        print(f"{name} / API key: {ratio}")
    found = rounds.problems(stats)
    rounds.exit_on(found)


if __name__ == "__main__":
    main()
