"""Wallet-signed requests: the X-Wallet-Address / X-Timestamp / X-Wallet-Signature scheme.

The wallet signs (EIP-191) exactly

    <WALLET_AUTH_MESSAGE_PREFIX>
    Timestamp: <X-Timestamp>
    Method: <HTTP method>
    Path: <path, without the query string>

This class comes first among DRF's authentication classes. No wallet header:
not our scheme, the next class tries. All three: ours, and it fails closed —
any problem is an error, never a fall-through to other credentials in the
same request. One or two: a 401 naming what is missing.

Cost of a good request: header parsing, one secp256k1 recovery, one cache
set-if-absent (the replay guard) and one cache read (the wallet's principal),
which on Redis travel together in one round trip.
"""

from __future__ import annotations

import time
from typing import NoReturn

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.wallet_address import checksum_address
from config import cache as shared_cache
from config import ratelimit
from config.authlog import AuthenticationThrottled, log_unauthorized
from config.errors import ServiceError, Unauthorized, ValidationFailed
from config.net import client_ip
from wallet.messages import signed_request_text
from wallet.principals import WalletAccountUnusable, principal_cache_key, wallet_principal
from wallet.replay import replay_marker
from wallet.signatures import parse_signature, recover_signer

ADDRESS_HEADER = "X-Wallet-Address"
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Wallet-Signature"
HEADERS = (ADDRESS_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
# Unix milliseconds have 13 digits until the year 2286; more is not a timestamp.
_MAX_TIMESTAMP_DIGITS = 15
WWW_AUTHENTICATE = 'Bearer realm="api"'


def signed_message(*, timestamp: str, method: str, path: str) -> str:
    """The exact text a wallet signs for one request (the CLI wallet builds the same)."""
    return signed_request_text(
        prefix=settings.WALLET_AUTH_MESSAGE_PREFIX, timestamp=timestamp, method=method, path=path
    )


class WalletAuthFailed(Unauthorized):
    """A 401 whose `.reason` (for the log) may say more than its message."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class WalletSignatureAuthentication(BaseAuthentication):
    def authenticate(self, request: Request):
        meta = request.META
        values = {name: meta.get(_meta_key(name)) for name in HEADERS}
        present = [name for name, value in values.items() if value is not None]
        if not present:
            return None
        try:
            if len(present) < len(HEADERS):
                missing = [name for name in HEADERS if values[name] is None]
                raise WalletAuthFailed(
                    f"Wallet authentication needs {', '.join(HEADERS)}; missing: "
                    f"{', '.join(missing)}",
                    reason=f"wallet headers incomplete, missing {', '.join(missing)}",
                )
            return self._verify(
                address_header=values[ADDRESS_HEADER],
                timestamp_header=values[TIMESTAMP_HEADER],
                signature_header=values[SIGNATURE_HEADER],
                method=request.method or "",
                path=request.path,
            )
        except WalletAuthFailed as exc:
            _refuse(request, exc.reason, exc)
        except ValidationFailed as exc:
            _refuse(request, f"malformed wallet headers ({exc.message})", exc)

    def _verify(
        self,
        *,
        address_header: str,
        timestamp_header: str,
        signature_header: str,
        method: str,
        path: str,
    ):
        address = checksum_address(address_header, field=ADDRESS_HEADER)
        signature = parse_signature(signature_header, field=SIGNATURE_HEADER)
        timestamp_text, timestamp_ms = _parse_timestamp(timestamp_header)

        now = time.time()
        skew = settings.WALLET_AUTH_MAX_SKEW_SECONDS
        if abs(now - timestamp_ms / 1000) > skew:
            raise WalletAuthFailed(
                f"{TIMESTAMP_HEADER} is more than {_span(skew)} from server time",
                reason=f"wallet timestamp {timestamp_ms} outside the window for {address}",
            )

        message = signed_message(timestamp=timestamp_text, method=method, path=path)
        signer = recover_signer(message, signature)
        if signer != address:
            raise WalletAuthFailed(
                "Invalid wallet signature",
                reason=f"wallet signature does not recover {address} for {method} {path[:200]!r}",
            )
        marker, ttl = replay_marker(
            address=address, message=message, valid_until=timestamp_ms / 1000 + skew, now=now
        )
        # One round trip: claim the signature, and fetch the wallet's cached principal.
        first_use, cached = shared_cache.add_and_get(marker, 1, ttl, principal_cache_key(address))
        if not first_use:
            raise WalletAuthFailed(
                "Wallet signature already used; sign each request anew",
                reason=f"wallet signature replayed for {address}",
            )
        try:
            return wallet_principal(address, cached=cached)
        except WalletAccountUnusable:
            raise WalletAuthFailed(
                "This account is disabled", reason=f"wallet {address} belongs to a disabled user"
            ) from None

    def authenticate_header(self, request: Request) -> str:
        # DRF asks only the first class for this, and this class is first: a
        # value here is what makes failed authentication a 401 rather than a 403.
        return WWW_AUTHENTICATE


def _refuse(request: Request, reason: str, error: ServiceError) -> NoReturn:
    """Log and count a failed attempt (AUTH_FAILURE_RATE per client address); past
    the limit the answer is 429, for failing attempts only — a valid signature
    from the same address never reaches this."""
    log_unauthorized(request, reason)
    state = ratelimit.count_auth_failure(client_ip(request))
    if state is not None and not state.allowed:
        raise AuthenticationThrottled(wait=state.retry_after) from None
    raise error from None


def _span(seconds: int) -> str:
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} seconds"


def _meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _parse_timestamp(value: str) -> tuple[str, int]:
    text = value.strip()
    if not text or len(text) > _MAX_TIMESTAMP_DIGITS or not (text.isascii() and text.isdigit()):
        reason = "must be Unix time in milliseconds (digits only)."
        raise ValidationFailed(
            f"{TIMESTAMP_HEADER} {reason}", details={"fields": {TIMESTAMP_HEADER: [reason]}}
        )
    return text, int(text)
