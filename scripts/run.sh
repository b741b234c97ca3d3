#!/usr/bin/env bash
# Runs Gatehouse for development on 127.0.0.1:${PORT:-8000} with SQLite and the
# in-process cache: installs, writes .env the first time (DEBUG=1 and a random
# SECRET_KEY, read by manage.py), migrates, creates a demo organization and an
# operator account, and prints how to log in.
#
# LOCAL_CHAIN=1 also starts a local EVM chain (billing/devchain.py) with a
# USDC-like token and a funded demo payer, and points x402 payments at it; its
# settings and keys are written to .devchain.env. Without it payments are off
# (top-ups answer 503) unless X402_* is configured.
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
if [ "${LOCAL_CHAIN:-0}" = "1" ]; then
  rm -f .devchain.env
  .venv/bin/python -m billing.devchain --env-file .devchain.env >/dev/null &
  chain_pid=$!
  trap 'kill "$chain_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do [ -s .devchain.env ] && break; sleep 0.1; done
  [ -s .devchain.env ] || { echo "the local chain did not start" >&2; exit 1; }
  set -a
  # shellcheck disable=SC1091
  . ./.devchain.env
  set +a
  echo "Local chain on $X402_RPC_URL ($X402_NETWORK), token $X402_ASSET."
  # The demo payer as a wallet key file, for `gatehouse-wallet --key-file … topup`.
  (umask 077 && printf '%s\n' "$DEVCHAIN_PAYER_KEY" > .devchain-payer.key)
  echo "Demo payer key (1,000 USDC, local chain only): $DEVCHAIN_PAYER_KEY"
  echo "Pay a top-up: .venv/bin/gatehouse-wallet --key-file .devchain-payer.key topup $APP_URL 10"
fi
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py bootstrap_demo
# Not exec: the EXIT trap stops the local chain when the server stops.
.venv/bin/python manage.py runserver "$HOST:$PORT"
