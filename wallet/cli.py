"""gatehouse-wallet: a small command-line wallet for scripts and the docs' examples.

    gatehouse-wallet new                         # a throwaway key file (wallet.key)
    gatehouse-wallet sign-in URL                 # SIWE: prints a new API key
    gatehouse-wallet headers METHOD PATH         # the three X-Wallet-* headers
    gatehouse-wallet create-key URL --name NAME  # headless key creation: prints the key
    gatehouse-wallet topup URL AMOUNT            # buy credits with x402: prints the balance

It speaks to a Gatehouse server over HTTP only (no Django here), and builds the
texts it signs with wallet.messages, the builder the server's tests use; `topup`
signs the payment the server's 402 asks for with the x402 SDK's own client
(billing.x402_buyer). The domain, URI, chain and nonce of a SIWE message come
from the server's nonce endpoint, so the same commands work on any port or origin.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from eth_account import Account

from billing.x402_buyer import BuyerRefusal, payment_header
from wallet.messages import personal_sign, signed_request_text, siwe_message_text

DEFAULT_KEY_FILE = "wallet.key"
DEFAULT_PREFIX = "Eliza Cloud Authentication"
# Headless creation accepts an expiry at most 10 minutes ahead; sign-in any.
MESSAGE_LIFETIME = dt.timedelta(minutes=5)


class CliError(Exception):
    """A failure to report on stderr with exit status 1."""


def _exchange(
    method: str, url: str, body: dict | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict]:
    """(status, headers, JSON body) of one request; an HTTP error status is an answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (_base checks)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (http(s) only)
            return response.status, response.headers, _json(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, _json(exc.read())
    except urllib.error.URLError as exc:
        raise CliError(f"{method} {url}: {exc.reason}") from exc


def _http(method: str, url: str, body: dict | None = None) -> dict:
    status, _, answer = _exchange(method, url, body)
    if status >= 400:
        raise CliError(f"{method} {url}: {status} {_error_text(answer)}")
    return answer


def _json(raw: bytes) -> dict:
    try:
        answer = json.loads(raw)
    except ValueError:
        return {"raw": raw.decode(errors="replace")[:200]}
    return answer if isinstance(answer, dict) else {"raw": str(answer)[:200]}


def _error_text(answer: dict) -> str:
    try:
        error = answer["error"]
        return f"{error['code']}: {error['message']}"
    except (KeyError, TypeError):
        return str(answer.get("raw", answer))[:200]


def _base(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise CliError(f"URL must start with http:// or https://, got {url!r}")
    return url.rstrip("/")


def _load(key_file: str):
    path = Path(key_file)
    try:
        return Account.from_key(path.read_text().strip())
    except FileNotFoundError as exc:
        raise CliError(f"no key file {key_file} (make one with: gatehouse-wallet new)") from exc
    except ValueError as exc:
        raise CliError(f"{key_file} does not hold a private key") from exc


def _signed_siwe(base: str, account) -> tuple[str, str]:
    """Ask the server for a nonce and its parameters; return (message, signature)."""
    params = _http("GET", f"{base}/api/auth/siwe/nonce")
    now = dt.datetime.now(dt.UTC)
    message = siwe_message_text(
        address=account.address,
        domain=params["domain"],
        uri=params["uri"],
        chain_id=params["chainId"],
        statement=params.get("statement"),
        nonce=params["nonce"],
        issued_at=now,
        expiration_time=now + MESSAGE_LIFETIME,
    )
    return message, personal_sign(account, message)


def _usd(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount of USD: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive amount of USD: {text!r}")
    return value


def cmd_new(args: argparse.Namespace) -> None:
    path = Path(args.key_file)
    if path.exists() and not args.force:
        raise CliError(f"{path} exists; pass --force to replace it")
    account = Account.create()
    # Owner-only before the secret is written: a throwaway, but still a key.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(account.key.hex() + "\n")
    print(account.address)


def cmd_address(args: argparse.Namespace) -> None:
    print(_load(args.key_file).address)


def cmd_sign_in(args: argparse.Namespace) -> None:
    base, account = _base(args.url), _load(args.key_file)
    message, signature = _signed_siwe(base, account)
    result = _http(
        "POST", f"{base}/api/auth/siwe/verify", {"message": message, "signature": signature}
    )
    print(json.dumps(result) if args.json else result["apiKey"])


def cmd_create_key(args: argparse.Namespace) -> None:
    base, account = _base(args.url), _load(args.key_file)
    message, signature = _signed_siwe(base, account)
    body = {"address": account.address, "message": message, "signature": signature}
    body["name"] = args.name
    if args.expires_at:
        body["expiresAt"] = args.expires_at
    result = _http("POST", f"{base}/api/v1/api-keys", body)
    print(json.dumps(result) if args.json else result["key"])


def cmd_headers(args: argparse.Namespace) -> None:
    account = _load(args.key_file)
    path = args.path.split("?", 1)[0]  # the server signs the path without its query
    timestamp = str(int(time.time() * 1000))
    text = signed_request_text(
        prefix=args.prefix, timestamp=timestamp, method=args.method, path=path
    )
    print(f"X-Wallet-Address: {account.address}")
    print(f"X-Timestamp: {timestamp}")
    print(f"X-Wallet-Signature: {personal_sign(account, text)}")


def cmd_topup(args: argparse.Namespace) -> None:
    """Ask for the top-up's 402, sign exactly what it asks (never more than --max-usd),
    pay it, and print the balance the payment bought."""
    base, account = _base(args.url), _load(args.key_file)
    url = f"{base}/api/v1/topup/{args.amount}"
    body = {"walletAddress": args.for_wallet} if args.for_wallet else {}
    status, headers, asked = _exchange("POST", url, body)
    if status != 402:
        raise CliError(
            f"POST {url}: expected a 402 asking for payment, got {status} {_error_text(asked)}"
        )
    ceiling = args.max_usd if args.max_usd is not None else Decimal(args.amount)
    try:
        name, value = payment_header(
            headers, asked, account, max_usd=ceiling, version=1 if args.v1 else 2
        )
    except (BuyerRefusal, ValueError) as exc:
        raise CliError(f"not paying: {exc}") from exc
    status, _, paid = _exchange("POST", url, body, {name: value})
    if status not in (200, 202):
        raise CliError(f"POST {url}: {status} {_error_text(paid)}")
    if args.json:
        print(json.dumps(paid))
    elif status == 202:
        # Settlement outlived the server's wait: credited once it is mined
        # (manage.py reconcile_payments), never twice.
        print(f"pending: payment {paid['paymentId']} (transaction {paid['transaction']})")
    else:
        print(paid["balance"])


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="gatehouse-wallet", description="A throwaway Ethereum wallet for Gatehouse."
    )
    top.add_argument(
        "--key-file",
        default=os.environ.get("GATEHOUSE_WALLET_KEY_FILE", DEFAULT_KEY_FILE),
        help="the wallet's private key (default: $GATEHOUSE_WALLET_KEY_FILE or wallet.key)",
    )
    sub = top.add_subparsers(dest="command", required=True)

    new = sub.add_parser("new", help="make a new key file and print its address")
    new.add_argument("--force", action="store_true", help="replace an existing key file")
    new.set_defaults(run=cmd_new)

    sub.add_parser("address", help="print the wallet's address").set_defaults(run=cmd_address)

    sign_in = sub.add_parser("sign-in", help="Sign-In with Ethereum; print the new API key")
    sign_in.add_argument("url", help="the server's origin, e.g. http://127.0.0.1:8000")
    sign_in.add_argument("--json", action="store_true", help="print the whole response")
    sign_in.set_defaults(run=cmd_sign_in)

    create = sub.add_parser("create-key", help="create an API key headlessly; print it")
    create.add_argument("url", help="the server's origin")
    create.add_argument("--name", required=True, help="the key's name")
    create.add_argument("--expires-at", help="ISO 8601 expiry (default: the server's)")
    create.add_argument("--json", action="store_true", help="print the whole response")
    create.set_defaults(run=cmd_create_key)

    headers = sub.add_parser("headers", help="print the X-Wallet-* headers of a signed request")
    headers.add_argument("method", help="HTTP method, e.g. GET")
    headers.add_argument("path", help="request path, e.g. /api/v1/dashboard")
    headers.add_argument(
        "--prefix",
        default=os.environ.get("WALLET_AUTH_MESSAGE_PREFIX", DEFAULT_PREFIX),
        help="first line of the signed text (the server's WALLET_AUTH_MESSAGE_PREFIX)",
    )
    headers.set_defaults(run=cmd_headers)

    topup = sub.add_parser(
        "topup", help="buy credits with an x402 payment from this wallet; print the balance"
    )
    topup.add_argument("url", help="the server's origin")
    topup.add_argument(
        "amount", type=int, help="whole USD: one of the server's amounts (10, 50, 100)"
    )
    topup.add_argument(
        "--for",
        dest="for_wallet",
        metavar="ADDRESS",
        help="credit this wallet's account (default: the paying wallet's own)",
    )
    topup.add_argument(
        "--max-usd", type=_usd, help="refuse to sign for more than this many USD (default: AMOUNT)"
    )
    topup.add_argument("--v1", action="store_true", help="pay with x402 v1 (X-PAYMENT)")
    topup.add_argument("--json", action="store_true", help="print the whole response")
    topup.set_defaults(run=cmd_topup)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except CliError as exc:
        print(f"gatehouse-wallet: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
