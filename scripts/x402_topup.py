#!/usr/bin/env python
"""Buy Gatehouse credits with x402 from the command line (the SDK's own client).

    .venv/bin/python scripts/x402_topup.py URL --key 0x<payer private key> \
        [--max-usd 100] [--v1] [--wallet-address 0x…]

Asks URL (e.g. http://127.0.0.1:8000/api/v1/topup/10) for its 402, signs the
EIP-3009 authorization it requires with the key, pays and prints the answer.
With `make run LOCAL_CHAIN=1` the demo payer's key is in .devchain.env
(DEVCHAIN_PAYER_KEY).
"""

from __future__ import annotations

import argparse
import json
import sys

import requests
from eth_account import Account

from billing.x402_buyer import BuyerRefusal, payment_header, settlement


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--key", required=True, help="the payer's private key (0x-hex)")
    parser.add_argument("--max-usd", default="100", help="refuse to pay more (default 100)")
    parser.add_argument("--v1", action="store_true", help="pay with x402 v1 (X-PAYMENT)")
    parser.add_argument("--wallet-address", help="credit this wallet's account instead")
    args = parser.parse_args(argv)
    body = {"walletAddress": args.wallet_address} if args.wallet_address else {}
    asked = requests.post(args.url, json=body, timeout=30)
    if asked.status_code != 402:
        print(f"expected a 402, got {asked.status_code}: {asked.text}", file=sys.stderr)
        return 1
    try:
        name, value = payment_header(
            asked.headers,
            asked.json(),
            Account.from_key(args.key),
            max_usd=args.max_usd,
            version=1 if args.v1 else 2,
        )
    except BuyerRefusal as exc:
        print(f"not paying: {exc}", file=sys.stderr)
        return 1
    paid = requests.post(args.url, json=body, headers={name: value}, timeout=60)
    print(json.dumps(paid.json(), indent=1))
    if paid.status_code in (200, 202):
        print(json.dumps({"settlement": settlement(paid.headers)}, indent=1))
        return 0
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
