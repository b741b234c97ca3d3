"""In-process profile of one hot path, with its round trips counted per request.

    .venv/bin/python bench/profile_paths.py PATH [-n 2000] [--pyinstrument | --cpu]

(--pyinstrument needs the pyinstrument package, which is not a dependency: cProfile
is the default.) --cpu runs no profiler: it times 5 batches of N requests with
`time.process_time()` and prints the median CPU time per request, a figure far less
sensitive to other load on the machine than wall time (it still grows somewhat
with cache contention, so compare figures taken under similar load).

PATH is one of: noauth, floor (no auth, one Redis GET), drf (drf-api-key), key,
verify, verify-cost, wallet, siwe. The requests go
straight into the WSGI application (no server, no sockets but PostgreSQL's and
Redis's), so the profile shows the project's own time; the counts show how many
Redis commands batches and PostgreSQL statements (health checks, BEGIN/COMMIT
included) one warm request makes. Uses the same database and Redis as the other
benchmarks (BENCH_DATABASE_URL, BENCH_REDIS_URL).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness


def environ(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> dict:
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        env[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    return env


class Counter:
    """Counts Redis command batches (one per round trip) and PostgreSQL statements."""

    def __init__(self) -> None:
        import psycopg
        from redis.connection import Connection

        self.redis = self.sql = 0
        counter = self
        send, execute, commit = (
            Connection.send_packed_command,
            psycopg.Cursor.execute,
            psycopg.Connection.commit,
        )

        def counted_send(conn, *args, **kwargs):
            counter.redis += 1
            return send(conn, *args, **kwargs)

        def counted_execute(cursor, *args, **kwargs):
            counter.sql += 1
            return execute(cursor, *args, **kwargs)

        def counted_commit(conn, *args, **kwargs):
            counter.sql += 1
            return commit(conn, *args, **kwargs)

        Connection.send_packed_command = counted_send
        psycopg.Cursor.execute = counted_execute
        psycopg.Connection.commit = counted_commit


# The GET rows of bench/auth_overhead.py: their path, and their headers given the
# seeded keys.
PLAIN = {
    "noauth": ("/bench/noauth", lambda keys: {}),
    "floor": ("/bench/one-redis-get", lambda keys: {}),
    "drf": ("/bench/drf-api-key", lambda keys: {"Authorization": f"Api-Key {keys['theirs']}"}),
    "key": ("/bench/ours", lambda keys: {"X-API-Key": keys["ours"]}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", choices=[*PLAIN, "verify", "verify-cost", "wallet", "siwe"])
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--pyinstrument", action="store_true")
    ap.add_argument(
        "--cpu", action="store_true", help="no profiler: median CPU µs/request of 5 batches"
    )
    args = ap.parse_args()

    env = harness.bench_env(ANONYMOUS_RATE="1000000/m")
    harness.ensure_database(env)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    from bench import auth_overhead, verify, wallet_auth

    app = get_wsgi_application()
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def call(env_: dict) -> bytes:
        return b"".join(app(env_, start_response))

    batches = 5 if args.cpu else 1
    total = args.n * batches
    requests: list[dict] = []
    if args.path in PLAIN:
        keys = auth_overhead.seed(env)
        url, headers_for = PLAIN[args.path]
        requests = [environ("GET", url, headers_for(keys)) for _ in range(total + 50)]
    elif args.path.startswith("verify"):
        keys = verify.seed(env)
        body = {"key": keys["key"], "permissions": ["chat:write"]}
        if args.path == "verify-cost":
            body["cost"] = "0.000001"
        headers = {"Authorization": f"Bearer {keys['gateway']}", "Content-Type": "application/json"}
        requests = [
            environ("POST", "/api/v1/keys/verify", headers, json.dumps(body).encode())
            for _ in range(total + 50)
        ]
    elif args.path == "wallet":
        wallet_auth.seed(env)
        rows = wallet_auth.signed_header_sets(
            wallet_auth.BENCH_WALLET, total + 50, path="/bench/ours"
        )
        requests = [environ("GET", "/bench/ours", row) for row in rows]
    else:
        from eth_account import Account

        wallets = [Account.create() for _ in range(total + 50)]
        for round_ in range(2):  # the first sign-in makes the account; time the second
            requests = []
            for account in wallets:
                nonce = json.loads(call(environ("GET", "/api/auth/siwe/nonce", {})))
                text = wallet_auth.siwe_message(account, nonce)
                payload = {"message": text, "signature": wallet_auth.sign(account, text)}
                requests.append(
                    environ(
                        "POST",
                        "/api/auth/siwe/verify",
                        {"Content-Type": "application/json"},
                        json.dumps(payload).encode(),
                    )
                )
            if round_ == 0:
                for r in requests:
                    call(r)

    warmup, timed = requests[:50], requests[50:]
    for r in warmup:
        call(r)
    statuses.clear()
    counter = Counter()
    if args.cpu:
        per_request, wall = [], []
        for b in range(batches):
            batch = timed[b * args.n : (b + 1) * args.n]
            c0, w0 = time.process_time(), time.perf_counter()
            for r in batch:
                call(r)
            per_request.append((time.process_time() - c0) / len(batch) * 1e6)
            wall.append((time.perf_counter() - w0) / len(batch) * 1e6)
        print(
            f"{args.path}: {batches} x {args.n} requests, CPU µs/request median "
            f"{sorted(per_request)[batches // 2]:.0f} (batches: "
            f"{', '.join(f'{x:.0f}' for x in per_request)}), wall µs/request median "
            f"{sorted(wall)[batches // 2]:.0f}, " + _trips(counter, statuses, len(timed))
        )
        return
    profiler = None
    if args.pyinstrument:
        try:
            from pyinstrument import Profiler
        except ImportError:
            raise SystemExit("--pyinstrument needs pyinstrument (not a dependency)") from None

        profiler = Profiler(interval=0.0002)
        profiler.start()
    else:
        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    for r in timed:
        call(r)
    elapsed = time.perf_counter() - t0
    if args.pyinstrument:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    else:
        profiler.disable()
        out = io.StringIO()
        # PROFILE_SORT (a pstats key, e.g. cumulative) and PROFILE_ROWS choose the table.
        order = os.environ.get("PROFILE_SORT", "tottime")
        rows = int(os.environ.get("PROFILE_ROWS", "30"))
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(rows)
        print(out.getvalue())
    n = len(timed)
    print(
        f"{args.path}: {n} requests, {elapsed / n * 1e6:.0f} µs each (profiled), "
        + _trips(counter, statuses, n)
    )


def _trips(counter, statuses: list[str], n: int) -> str:
    """The round trips one request made, and the answers that were not 200."""
    bad = [s for s in statuses if not s.startswith("200")]
    return (
        f"Redis round trips {counter.redis / n:.2f}, SQL statements {counter.sql / n:.2f} "
        f"per request; non-200: {len(bad)} {bad[:3]}"
    )


if __name__ == "__main__":
    main()
