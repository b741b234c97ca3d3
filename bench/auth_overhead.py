"""What authentication costs per request, against no authentication and against
djangorestframework-api-key, on one gunicorn (2 sync workers) on PostgreSQL + Redis.

    .venv/bin/python bench/auth_overhead.py [--seconds 10] [--connections 16]
        [--rounds 3] [--skip-million]

Rows (one trivial endpoint, only its guard differs), alternating over --rounds
rounds (bench/rounds.py), every answer's body checked:
- minimal Django, no auth: a plain view on a Django with two middleware and no
  database (bench/minimal), on its own gunicorn: the outside reference;
- no auth: the project's full stack, the DRF view with AllowAny and no
  authentication classes;
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

from bench import rounds
from bench.harness import bench_env, ensure_database, gunicorn, run_python, warm

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
    # The casts: with server-side binding (DB_PREPARED_STATEMENTS) psycopg types a
    # small int as smallint, and generate_series has no smallint overload to pick.
    c.execute('''
          INSERT INTO apikeys_apikey (id, organization_id, name, environment, permissions,
            allowed_ips, digest, hint, expires_at, created_at, revoked_at)
          SELECT gen_random_uuid(), %s, 'bulk', 'live', '[]'::jsonb, '[]'::jsonb,
            encode(sha256(('bulk-' || g)::text::bytea), 'hex'), 'ek_live_bulk',
            now() + interval '90 days', now(), now()
          FROM generate_series(%s::integer, %s::integer) g''', [bulk.pk, have, target - 1])
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


HELLO = '"hello":"world"'
MINIMAL = "minimal Django, no auth (2 middleware)"
NOAUTH = "no auth (full stack)"
OURS = "ours, API key + rate limit"
DRF = "drf-api-key HasAPIKey"
FLOOR = "no auth + one Redis GET (floor)"


def seed(env: dict[str, str], *, keys: int = 1_000) -> dict[str, str]:
    """The bench organization's key and a drf-api-key key, with `keys` keys in the table."""
    run_python(env, BULK.format(target=keys))
    return json.loads(run_python(env, SEED).strip().splitlines()[-1])


def key_rows(full: str, minimal: str | None, keys: dict[str, str], load: dict) -> list:
    """The rows of the API-key table; `minimal` is the minimal site's base URL."""
    ours = {"X-API-Key": keys["ours"]}
    theirs = {"Authorization": f"Api-Key {keys['theirs']}"}
    for path, headers in (
        ("/bench/noauth", None),
        ("/bench/ours", ours),
        ("/bench/drf-api-key", theirs),
        ("/bench/one-redis-get", None),
    ):
        warm(full + path, headers)
    rows = []
    if minimal is not None:
        warm(minimal + "/bench/noauth")
        rows.append(rounds.wrk_row(MINIMAL, minimal + "/bench/noauth", expect=HELLO, load=load))
    rows += [
        rounds.wrk_row(NOAUTH, full + "/bench/noauth", expect=HELLO, load=load),
        rounds.wrk_row(OURS, full + "/bench/ours", expect=HELLO, headers=ours, load=load),
        rounds.wrk_row(DRF, full + "/bench/drf-api-key", expect=HELLO, headers=theirs, load=load),
        rounds.wrk_row(FLOOR, full + "/bench/one-redis-get", expect=HELLO, load=load),
    ]
    return rows


def cold_check(env: dict[str, str], key: str, n: int = 2000) -> float:
    return float(run_python(env, COLD.format(key=key, n=n)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-million", action="store_true", help="only the 10^3-key rows")
    args = ap.parse_args()

    env = bench_env()
    ensure_database(env)
    keys = seed(env)
    load = {"seconds": args.seconds, "connections": args.connections}

    with (
        gunicorn(env, label="full") as full,
        gunicorn(env, app="bench.minimal.wsgi", label="minimal") as minimal,
    ):
        stats = rounds.run_rounds(key_rows(full, minimal, keys, load), args.rounds)
    cold = {1_000: cold_check(env, keys["ours"])}

    million = None
    if not args.skip_million:
        run_python(env, BULK.format(target=1_000_000))
        with gunicorn(env, label="full-1e6") as full:
            rows = [r for r in key_rows(full, None, keys, load) if r.name in (NOAUTH, OURS)]
            million = rounds.run_rounds(rows, args.rounds)
        cold[1_000_000] = cold_check(env, keys["ours"])

    print(
        f"\nauth_overhead: gunicorn 2 sync workers, wrk -t2 -c{args.connections} "
        f"-d{args.seconds}s, {args.rounds} rounds, PostgreSQL + Redis on loopback\n"
    )
    print(rounds.table(stats, NOAUTH))
    for label, base in (("no auth", NOAUTH), ("drf-api-key", DRF), ("one-Redis-GET floor", FLOOR)):
        print(f"ours / {label}: {rounds.spread(stats[OURS].ratios(stats[base]), '{:.2f}x')}")
    print(
        f"full-stack / minimal no auth: "
        f"{rounds.spread(stats[NOAUTH].ratios(stats[MINIMAL]), '{:.2f}x')}"
    )
    if million is not None:
        print("\nwith 10^6 keys in the table:\n")
        print(rounds.table(million, NOAUTH))
    print("\nuncached verification (cache entry dropped before each call; median of 2000):\n")
    print("| keys in table | median µs |\n|---:|---:|")
    for n, us in cold.items():
        print(f"| {n:,} | {us:.0f} |")
    if len(cold) == 2:
        print(f"\n10^6 / 10^3: {cold[1_000_000] / cold[1_000]:.2f}x")
    found = rounds.problems(stats) + (rounds.problems(million) if million else [])
    rounds.exit_on(found)


if __name__ == "__main__":
    main()
