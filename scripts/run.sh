#!/usr/bin/env bash
# Runs Gatehouse for development on 127.0.0.1:8000 with SQLite and the
# in-process cache: installs, migrates, creates a demo organization and an
# operator account, and prints how to log in.
#
# LOCAL_CHAIN=1 also starts a local EVM chain (billing/devchain.py) with a
# USDC-like token and a funded demo payer, and points x402 payments at it; its
# settings and keys are written to .devchain.env. Without it payments are off
# (top-ups answer 503) unless X402_* is configured.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export DEBUG=${DEBUG:-1}
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
  echo "Demo payer key (1,000 USDC, local chain only): $DEVCHAIN_PAYER_KEY"
fi
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py bootstrap_demo
.venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"
