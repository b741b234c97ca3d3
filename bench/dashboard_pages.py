"""The dashboard's pages under load: requests/s and p50/p99 of a signed-in owner's
overview (30 days of usage), the keys page with 25 keys, and a key's page.

    .venv/bin/python bench/dashboard_pages.py [--seconds 10] [--connections 2]

Same harness as every benchmark here (bench/harness.py: gunicorn with 2 sync
workers on PostgreSQL + Redis, DEBUG off, static files collected; wrk on
loopback with the session cookie). Rows:

- `no auth (baseline)`: the bench site's trivial endpoint without any guard;
- `sign-in page`: an anonymous page (template, CSRF cookie, no queries);
- `overview`: organization, balance, 30-day usage chart, recent activity;
- `keys page, 25 keys`: the list with roles checked per key;
- `key page`: one key, its usage chart and audit events.

The budget (issue 11): p50 at most 30 ms on this harness. Query counts are
asserted by tests/dashboard/test_overview_pages.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, rounds

BASELINE = "no auth (baseline)"
HELLO = '"hello":"world"'
PAGE = "</html>"  # every page is whole

SEED = """
import uuid
from datetime import timedelta
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from accounts.models import Role, User
from accounts.services import membership_add, organization_create
from apikeys.services import apikey_create
from apikeys.usage import usage_add
from billing.models import EntryKind
from billing.services import credits_grant

suffix = uuid.uuid4().hex[:8]
org = organization_create(name="Bench pages", slug=f"bench-pages-{suffix}")
user = User.objects.create_user(username=f"bench-{suffix}", password=None)
membership_add(user=user, organization=org, role=Role.OWNER)
credits_grant(organization=org, amount_micros=10**9, kind=EntryKind.TOPUP)
today = timezone.now().date()
keys = []
for i in range(25):
    key, _ = apikey_create(organization=org, created_by=user, name=f"key {i}")
    keys.append(key)
    for d in range(30):
        day = today - timedelta(days=d)
        usage_add(key_id=key.pk, organization_id=org.pk, day=day, requests=i + d)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
print(keys[0].pk)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    # As many connections as workers: p50 is then a page's time, not its queueing.
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    static_root = tempfile.mkdtemp(prefix="bench-static-")
    env = harness.bench_env(STATIC_ROOT=static_root)
    harness.ensure_database(env)
    harness.django_admin(env, "collectstatic", "--no-input", "-v0")
    session, key_id = harness.run_python(env, SEED).split()[-2:]
    cookie = {"Cookie": f"sessionid={session}"}
    pages = {
        "overview": "/",
        "keys page, 25 keys": "/keys/",
        "key page": f"/keys/{key_id}/",
    }
    load = {"seconds": args.seconds, "connections": args.connections}
    with harness.gunicorn(env) as base:
        harness.warm(f"{base}/bench/noauth")
        rows = [rounds.wrk_row(BASELINE, f"{base}/bench/noauth", expect=HELLO, load=load)]
        harness.warm(f"{base}/signin")
        rows.append(rounds.wrk_row("sign-in page", f"{base}/signin", expect=PAGE, load=load))
        for name, path in pages.items():
            harness.warm(f"{base}{path}", cookie)
            rows.append(
                rounds.wrk_row(name, f"{base}{path}", expect=PAGE, headers=cookie, load=load)
            )
        stats = rounds.run_rounds(rows, args.rounds)

    print(
        f"\nDashboard pages, {args.connections} connections, {args.seconds} s each, "
        f"{args.rounds} rounds\n"
    )
    print(rounds.table(stats, BASELINE))
    found = rounds.problems(stats)
    rounds.exit_on(found)


if __name__ == "__main__":
    main()
