#!/usr/bin/env bash
# Runs Gatehouse for development on 127.0.0.1:8000 with SQLite and the
# in-process cache: installs, migrates, creates a demo organization and an
# operator account, and prints how to log in.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export DEBUG=${DEBUG:-1}
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py bootstrap_demo
exec .venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"
