#!/usr/bin/env bash
# Mutation testing of the modules in scripts/mutation.toml (docs/mutation.md).
# Pass 1 runs every mutant on SQLite and the local-memory cache (two at a time).
# With DATABASE_URL and REDIS_URL set, pass 2 re-runs only pass 1's survivors on
# PostgreSQL and Redis, where the `concurrency` tests and the Redis branches
# run. Prints the score and the survivors per module; exits 1 when a module
# scores below its min_score. Extra arguments go to both passes (e.g. --module).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
mkdir -p .mutation
if [ -n "${DATABASE_URL:-}" ] && [ -n "${REDIS_URL:-}" ]; then
  echo "== mutation pass 1: SQLite + local-memory cache"
  env -u DATABASE_URL -u REDIS_URL .venv/bin/python scripts/mutation.py \
    --json .mutation/sqlite.json "$@"
  echo "== mutation pass 2: pass 1's survivors on PostgreSQL + Redis"
  exec .venv/bin/python scripts/mutation.py --survivors-of .mutation/sqlite.json \
    --json .mutation/services.json --check "$@"
fi
exec .venv/bin/python scripts/mutation.py --json .mutation/sqlite.json --check "$@"
