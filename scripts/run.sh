#!/usr/bin/env bash
# Runs Gatehouse for development on 127.0.0.1:${PORT:-8000} with SQLite and the
# in-process cache: installs, writes .env the first time (DEBUG=1 and a random
# SECRET_KEY, read by manage.py), migrates, creates a demo organization and an
# operator account, and prints how to log in.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
env_file=${GATEHOUSE_ENV_FILE-.env}
if [ -n "$env_file" ] && [ ! -e "$env_file" ]; then
  umask 077
  {
    echo "# Written by the first 'make run' (development only; git-ignored)."
    echo "# manage.py reads it; variables set in the environment win over it."
    echo "DEBUG=1"
    echo "SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')"
  } > "$env_file"
  umask 022
  echo "Wrote $env_file (DEBUG=1 and a random SECRET_KEY)."
fi
export DEBUG=${DEBUG:-1}
# The public origin follows the port: the banner, links and the SIWE domain use it.
export APP_URL=${APP_URL:-http://$HOST:$PORT}
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py bootstrap_demo
exec .venv/bin/python manage.py runserver "$HOST:$PORT"
