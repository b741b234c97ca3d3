"""What authentication costs per request, against no authentication and against
djangorestframework-api-key, on one gunicorn (2 sync workers) on PostgreSQL + Redis.

    .venv/bin/python bench/auth_overhead.py [--seconds 10] [--connections 16] [--skip-million]

Rows (one trivial DRF endpoint, only its guard differs):
- no auth: AllowAny, no authentication classes;
- ours: the project's default authentication (API key via X-API-Key), permission
  and throttle classes, i.e. the key check plus the per-key rate-limit count;
- drf-api-key: `HasAPIKey`, one indexed database query per request;
- one Redis GET: no authentication, one shared-cache read. The floor of any check
  whose state every server process shares (a revocable key, a rate counter).
Then ours again with 10^6 keys in the table, and the uncached verification cost
(cache entry dropped before every call: the database lookup) at 10^3 and 10^6 keys.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    TABLE_HEAD,
    bench_env,
    ensure_database,
    gunicorn,
    run_python,
    warm,
    wrk,
)

SEED = """
import json
from accounts.models import Organization
from accounts.services import organization_create
from apikeys.models import APIKey
from apikeys.services import apikey_create
from rest_framework_api_key.models import APIKey as DrfKey

org = Organization.objects.filter(slug="bench").first() or organization_create(
    name="Bench", slug="bench", plan="enterprise", custom_rate_limit=1_000_000)
for k in APIKey.objects.filter(organization=org, revoked_at__isnull=True):
    from apikeys.services import apikey_revoke
    apikey_revoke(key=k)
_, ours = apikey_create(organization=org, created_by=None, name="bench", rate_limit=1_000_000)
_, theirs = DrfKey.objects.create_key(name="bench")
print(json.dumps({"ours": ours, "theirs": theirs}))
"""

BULK = """
from django.db import connection
from accounts.models import Organization
from accounts.services import organization_create
from apikeys.models import APIKey
target = {target}
bulk = Organization.objects.filter(slug="bench-bulk").first() or organization_create(
    name="Bench bulk", slug="bench-bulk")
with connection.cursor() as c:
    c.execute("DELETE FROM apikeys_apikey WHERE organization_id = %s", [bulk.pk])
    have = APIKey.objects.count()
    c.execute('''
          INSERT INTO apikeys_apikey (id, organization_id, name, environment, permissions,
            allowed_ips, digest, hint, expires_at, created_at, revoked_at)
          SELECT gen_random_uuid(), %s, 'bulk', 'live', '[]'::jsonb, '[]'::jsonb,
            encode(sha256(('bulk-' || g)::text::bytea), 'hex'), 'ek_live_bulk',
            now() + interval '90 days', now(), now()
          FROM generate_series(%s, %s) g''', [bulk.pk, have, target - 1])
    c.execute("ANALYZE apikeys_apikey")
print(APIKey.objects.count())
"""

COLD = """
import time
from django.core.cache import cache
from apikeys import keycache, keyformat
from apikeys.check import apikey_verify
key = {key!r}
digest = keyformat.parse(key).digest
for _ in range(200):
    cache.delete(keycache.record_key(digest)); apikey_verify(key, count=False)
samples = []
for _ in range({n}):
    cache.delete(keycache.record_key(digest))
    t = time.perf_counter(); check = apikey_verify(key, count=False)
    samples.append(time.perf_counter() - t)
    assert check.valid
samples.sort()
print(samples[len(samples) // 2] * 1e6)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--skip-million", action="store_true", help="only the 10^3-key rows")
    args = ap.parse_args()

    env = bench_env()
    ensure_database(env)
    run_python(env, BULK.format(target=1_000))
    keys = json.loads(run_python(env, SEED).strip().splitlines()[-1])
    ours = {"X-API-Key": keys["ours"]}
    theirs = {"Authorization": f"Api-Key {keys['theirs']}"}
    load = {"seconds": args.seconds, "connections": args.connections}

    rows = []
    with gunicorn(env) as base:
        for path, headers in (
            ("/bench/noauth", None),
            ("/bench/ours", ours),
            ("/bench/drf-api-key", theirs),
            ("/bench/one-redis-get", None),
        ):
            warm(base + path, headers)
        noauth = wrk("no auth", base + "/bench/noauth", **load)
        rows.append(noauth)
        rows.append(
            wrk("ours, API key + rate limit (10^3 keys)", base + "/bench/ours", ours, **load)
        )
        rows.append(wrk("drf-api-key HasAPIKey", base + "/bench/drf-api-key", theirs, **load))
        rows.append(wrk("no auth + one Redis GET (floor)", base + "/bench/one-redis-get", **load))
    cold = {1_000: float(run_python(env, COLD.format(key=keys["ours"], n=2000)))}

    if not args.skip_million:
        run_python(env, BULK.format(target=1_000_000))
        with gunicorn(env) as base:
            warm(base + "/bench/ours", ours)
            rows.append(
                wrk("ours, API key + rate limit (10^6 keys)", base + "/bench/ours", ours, **load)
            )
        cold[1_000_000] = float(run_python(env, COLD.format(key=keys["ours"], n=2000)))

    print(
        f"\nauth_overhead: gunicorn 2 sync workers, wrk -t2 -c{args.connections} "
        f"-d{args.seconds}s, PostgreSQL + Redis on loopback\n"
    )
    print(TABLE_HEAD.replace("vs baseline", "vs no auth"))
    for r in rows:
        print(r.row(noauth))
    ours_row, theirs_row = rows[1], rows[2]
    floor = rows[3]
    print(f"\nours / drf-api-key throughput: {ours_row.rps / theirs_row.rps:.2f}x")
    print(f"ours / one-Redis-GET floor throughput: {ours_row.rps / floor.rps:.2f}x")
    print("\nuncached verification (cache entry dropped before each call; median of 2000):\n")
    print("| keys in table | median µs |\n|---:|---:|")
    for n, us in cold.items():
        print(f"| {n:,} | {us:.0f} |")
    if len(cold) == 2:
        print(f"\n10^6 / 10^3: {cold[1_000_000] / cold[1_000]:.2f}x")


if __name__ == "__main__":
    main()
