"""Real wallets and real signatures for the wallet tests (no mocked verification)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time

from django.conf import settings
from eth_account import Account
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.models import Organization, User
from apikeys.models import APIKey
from tests.helpers import CLOSED_PORT_REDIS  # noqa: F401  (re-exported)
from wallet.authentication import WalletSignatureAuthentication, signed_message
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


NONCE_URL = "/api/auth/siwe/nonce"
VERIFY_URL = "/api/auth/siwe/verify"
LOGIN_URL = "/api/auth/siwe/login"
KEYS_URL = "/api/v1/api-keys"

# Every SIWE refusal looks the same from outside (the reason is only logged).
FAILED = {"error": {"code": "UNAUTHORIZED", "message": "SIWE verification failed"}}
# What every wallet path answers while the cache (Redis) is unreachable.
UNAVAILABLE = {
    "error": {
        "code": "SERVICE_UNAVAILABLE",
        "message": "Authentication is temporarily unavailable; try again shortly.",
    }
}


def get_nonce(client) -> str:
    """A nonce issued by the server (GET /api/auth/siwe/nonce)."""
    return client.get(NONCE_URL).json()["nonce"]


def signed_body(client, account, **changes) -> dict:
    """The body of a sign-in (verify or login): a message with a server nonce, signed.

    `nonce=` replaces the issued nonce; other keywords go to siwe_text."""
    text = siwe_text(account, nonce=changes.pop("nonce", None) or get_nonce(client), **changes)
    return {"message": text, "signature": sign(account, text)}


def nonce_of(body: dict) -> str:
    """The nonce a signed body's message carries."""
    return body["message"].split("Nonce: ")[1].splitlines()[0]


def proof(account, *, name="my-bot", nonce="clientNonce0001", **changes) -> dict:
    """A headless key-creation body: a client nonce, expiring in 10 minutes."""
    changes.setdefault("expiration", dt.timedelta(minutes=10))
    text = siwe_text(account, nonce=nonce, chain_id=8453, **changes)
    return {
        "address": account.address,
        "message": text,
        "signature": sign(account, text),
        "name": name,
    }


def csrf(client) -> dict[str, str]:
    """The CSRF header a browser sends: the token its cookie holds now."""
    return {"X-CSRFToken": client.cookies["csrftoken"].value}


def login(client, body):
    """POST /api/auth/siwe/login as a browser does (with the CSRF header)."""
    return client.post(LOGIN_URL, body, format="json", headers=csrf(client))


def nothing_created() -> bool:
    """No user and no key exist (a refused sign-in made neither)."""
    return not User.objects.exists() and not APIKey.objects.exists()


def account_body(account) -> dict:
    """The `user` and `organization` a sign-in answers for a wallet's own account,
    read from the database (the one user and the one organization there)."""
    user = User.objects.get(wallet_address=account.address)
    org = Organization.objects.get(memberships__user=user)
    return {
        "user": {
            "id": str(user.pk),
            "username": account.address.lower(),
            "walletAddress": account.address,
        },
        "organization": {
            "id": str(org.pk),
            "name": org.name,
            "slug": account.address.lower(),
            "plan": "free",
        },
    }


# A real DRF view behind wallet-signature authentication, called in-process.
WHOAMI_PATH = "/api/v1/whoami"


class WhoAmI(APIView):
    authentication_classes = [WalletSignatureAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        p = request.auth
        return Response(
            {
                "method": p.method,
                "organizationId": str(p.organization_id),
                "userId": str(p.user_id),
                "rateLimit": p.rate_limit,
                "environment": p.environment,
                "permissions": sorted(p.permissions),
                "walletAddress": p.wallet_address,
                "keyId": p.key_id,
            }
        )

    post = get
    delete = get


factory = APIRequestFactory()


def call(method="GET", path=WHOAMI_PATH, headers=None, view=WhoAmI):
    """(status, body) of a request to `view` with `headers`."""
    request = getattr(factory, method.lower())(path, headers=headers or {})
    response = view.as_view()(request)
    response.render()
    return response.status_code, json.loads(response.content)


def run_cli(*args: str, key_file, cli: list[str] | None = None):
    """gatehouse-wallet ARGS in a fresh process with KEY_FILE as its key file."""
    command = cli or [sys.executable, "-m", "wallet.cli"]
    env = {**os.environ, "GATEHOUSE_WALLET_KEY_FILE": str(key_file)}
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=60)
