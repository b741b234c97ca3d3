"""POST /api/v1/keys/verify under load: requests/s and p50/p99, with and without a cost.

    .venv/bin/python bench/verify.py [--seconds 10] [--connections 16]

Same harness as every benchmark here (bench/harness.py: gunicorn with 2 sync
workers on PostgreSQL + Redis, wrk on loopback). Rows:

- `no auth (baseline)`: the bench site's trivial endpoint without any guard;
- `verify, no cost`: the caller's key is authenticated and throttled, the
  verified key is looked up (one cache round trip when warm), its permission
  checked and its rate counter incremented, and the balance read (one query);
- `verify, cost 0.000001`: the same plus a debit, i.e. one conditional UPDATE
  and one ledger row per call, in a transaction.

Needs PostgreSQL, Redis and wrk (see bench/harness.py for the defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SEED = """
import uuid
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
print(gateway)
print(key)
"""


def post_script(body: dict) -> str:
    """A wrk script that POSTs `body` as JSON."""
    fd, path = tempfile.mkstemp(suffix=".lua")
    with os.fdopen(fd, "w") as f:
        f.write(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps(body))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    env = harness.bench_env()
    harness.ensure_database(env)
    gateway, key = harness.run_python(env, SEED).split()[-2:]
    auth = {"Authorization": f"Bearer {gateway}"}
    scripts = {
        "verify, no cost": post_script({"key": key, "permissions": ["chat:write"]}),
        "verify, cost 0.000001": post_script(
            {"key": key, "permissions": ["chat:write"], "cost": "0.000001"}
        ),
    }
    load = {"seconds": args.seconds, "connections": args.connections}
    try:
        with harness.gunicorn(env) as base:
            harness.warm(f"{base}/bench/noauth")
            baseline = harness.wrk("no auth (baseline)", f"{base}/bench/noauth", **load)
            results = [baseline]
            for name, script in scripts.items():
                results.append(
                    harness.wrk(name, f"{base}/api/v1/keys/verify", auth, script=script, **load)
                )
    finally:
        for script in scripts.values():
            os.unlink(script)

    print(f"\nPOST /api/v1/keys/verify, {args.connections} connections, {args.seconds} s each\n")
    print(harness.TABLE_HEAD)
    for result in results:
        print(result.row(baseline))


if __name__ == "__main__":
    main()
