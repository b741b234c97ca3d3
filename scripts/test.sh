#!/usr/bin/env bash
# Runs the whole test suite. With DATABASE_URL and REDIS_URL set it runs on
# PostgreSQL and Redis, including the tests marked `concurrency`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
