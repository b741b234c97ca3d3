"""Real wallets and real signatures for the wallet tests (no mocked verification)."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from eth_account import Account

from wallet.authentication import signed_message
from wallet.messages import personal_sign, siwe_message_text
from wallet.nonces import nonce_claim
from wallet.siwe_verify import SiweFailed, VerifiedSiwe, siwe_check


def new_wallet():
    return Account.create()


def sign(account, text: str) -> str:
    return personal_sign(account, text)


def siwe_text(
    account,
    *,
    nonce: str,
    now: dt.datetime | None = None,
    domain: str | None = None,
    uri: str | None = None,
    chain_id: int = 1,
    issued_at: dt.datetime | dt.timedelta | None = None,
    expiration: dt.datetime | dt.timedelta | bool | None = True,
    not_before: dt.datetime | dt.timedelta | None = None,
    address: str | None = None,
    statement: str | None = "Sign in to Gatehouse.",
    scheme: str | None = None,
) -> str:
    """A SIWE message for our domain, valid now, unless told otherwise.

    Built by wallet.messages, the builder the command-line wallet uses.
    expiration=True means "five minutes from now"; None or False: no expirationTime.
    A timedelta for issued_at, expiration or not_before is an offset from the moment
    this function runs, so parametrized cases never hold an instant computed at
    import (a slow run would otherwise turn "two minutes ahead" into "now").
    """
    now = now or dt.datetime.now(dt.UTC)
    if expiration is True:
        expiration = dt.timedelta(minutes=5)
    issued_at, expiration, not_before = (
        now + v if isinstance(v, dt.timedelta) else v for v in (issued_at, expiration, not_before)
    )
    return siwe_message_text(
        scheme=scheme,
        domain=domain or settings.APP_DOMAIN,
        address=address or account.address,
        uri=uri or settings.APP_ORIGIN,
        chain_id=chain_id,
        issued_at=issued_at or now,
        nonce=nonce,
        statement=statement,
        expiration_time=expiration or None,
        not_before=not_before,
    )


def wallet_headers(
    account,
    *,
    method: str = "GET",
    path: str = "/api/v1/whoami",
    timestamp_ms: int | None = None,
    address: str | None = None,
) -> dict[str, str]:
    """The three headers of a signed request, as a test client's `headers=`."""
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    text = signed_message(timestamp=ts, method=method, path=path)
    return {
        "X-Wallet-Address": address or account.address,
        "X-Timestamp": ts,
        "X-Wallet-Signature": sign(account, text),
    }


def siwe_verify(*, message, signature, headless=False, **kwargs) -> VerifiedSiwe:
    """The message check, then the nonce's one use: the first and fourth steps of
    every sign-in (wallet.signin), without an account."""
    verified = siwe_check(message=message, signature=signature, headless=headless, **kwargs)
    if not nonce_claim(verified.nonce, allow_client_nonce=headless):
        raise SiweFailed("SIWE nonce unknown, expired or already used")
    return verified
