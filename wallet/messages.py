"""The texts a wallet signs, built in one place for the server, its tests and the CLI.

Nothing here reads Django settings: the server passes its configured values in,
and the command-line wallet (wallet/cli.py) passes what the server's nonce
endpoint told it. So a client and the server cannot drift apart on a newline.
"""

from __future__ import annotations

import datetime as dt

import siwe
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount


def iso(moment: dt.datetime) -> str:
    """An RFC 3339 timestamp as EIP-4361 writes it (UTC, `Z`)."""
    return siwe.ISO8601Datetime.from_datetime(moment)


def siwe_message_text(
    *,
    address: str,
    domain: str,
    uri: str,
    nonce: str,
    issued_at: dt.datetime,
    chain_id: int = 1,
    expiration_time: dt.datetime | None = None,
    not_before: dt.datetime | None = None,
    statement: str | None = None,
    scheme: str | None = None,
) -> str:
    """An EIP-4361 (Sign-In with Ethereum) message, ready for personal_sign."""
    message = siwe.SiweMessage(
        scheme=scheme,
        domain=domain,
        address=address,
        uri=uri,
        version="1",
        chain_id=chain_id,
        issued_at=iso(issued_at),
        nonce=nonce,
        statement=statement,
        expiration_time=iso(expiration_time) if expiration_time else None,
        not_before=iso(not_before) if not_before else None,
    )
    return message.prepare_message()


def signed_request_text(*, prefix: str, timestamp: str, method: str, path: str) -> str:
    """The exact text a wallet signs for one request (X-Wallet-* headers).

    `path` is the request path without its query string."""
    return f"{prefix}\nTimestamp: {timestamp}\nMethod: {method.upper()}\nPath: {path}"


def personal_sign(account: LocalAccount, text: str) -> str:
    """EIP-191 personal_sign of `text`, as 0x-prefixed hex."""
    return "0x" + account.sign_message(encode_defunct(text=text)).signature.hex()


def account_from_key(private_key: str) -> LocalAccount:
    return Account.from_key(private_key)
