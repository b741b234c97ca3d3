#!/usr/bin/env bash
# Installs the official x402 JS client (@x402/fetch, @x402/evm, viem; versions
# pinned in scripts/js_client/package.json) into .js-client/ (git-ignored),
# for tests/payments/test_js_client.py and scripts/js_client/topup.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .js-client
cp scripts/js_client/package.json .js-client/package.json
cp scripts/js_client/topup.mjs .js-client/topup.mjs
cd .js-client
if [ ! -d node_modules/@x402/fetch ] || [ package.json -nt node_modules/.stamp ]; then
  npm install --no-audit --no-fund --loglevel=error
  touch node_modules/.stamp
fi
