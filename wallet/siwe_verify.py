"""Sign-In with Ethereum (EIP-4361): every check of a signed message, pure.

Parsing and the signature check are the `siwe` package's (signinwithethereum);
this module adds what depends on our configuration: domain and origin from
APP_URL, the allowed chains, issuedAt skew and the headless rules. It reads no
state and writes none: the single-use nonce is spent by the sign-in
(wallet.signin) only after this check passed, so a bad signature cannot burn
someone's nonce.

Every failure raises `SiweFailed`: a 401 with a generic message for the client
and the precise reason (`.reason`) for the log. Input that is not even the right
shape (not a string, too long, not ASCII, a malformed signature) is a 400.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from siwe.parsed import RegExpParsedMessage

from accounts.wallet_address import checksum_address
from config.errors import Unauthorized, ValidationFailed, invalid_field
from wallet.signatures import parse_signature, recover_signer
from wallet.siwe_message import SiweMessage

MAX_MESSAGE_CHARS = 4096
# Bounds on what the grammar has to chew (see _check_outline); a real sign-in
# message has about a dozen short lines.
MAX_LINES = 40
MAX_LINE_CHARS = 512
MAX_RESOURCES = 10  # SPEC §3
ISSUED_AT_SKEW = dt.timedelta(seconds=60)
# Headless key creation (SPEC §2): the message must expire at most this far ahead.
HEADLESS_MAX_LIFETIME = dt.timedelta(minutes=10)


class SiweFailed(Unauthorized):
    default_message = "SIWE verification failed"

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedSiwe:
    address: str  # EIP-55 checksummed
    nonce: str
    chain_id: int
    expiration_time: dt.datetime | None


def check_message_text(value: object, *, field: str = "message") -> str:
    """The shape a SIWE message must have before we try to parse it (else 400)."""
    if not isinstance(value, str):
        raise invalid_field(field, "must be a string.")
    if not value:
        raise invalid_field(field, "must not be empty.")
    if len(value) > MAX_MESSAGE_CHARS:
        raise invalid_field(field, f"must be at most {MAX_MESSAGE_CHARS} characters.")
    if not value.isascii():
        # EIP-4361's grammar is ASCII throughout (domains in punycode, URIs encoded).
        raise invalid_field(field, "must be ASCII text.")
    return value


def siwe_check(
    *,
    message: str,
    signature: str,
    headless: bool = False,
    expected_address: str | None = None,
    now: dt.datetime | None = None,
) -> VerifiedSiwe:
    """Check a signed SIWE message; SiweFailed on any mismatch. Spends nothing.

    headless=True applies the key-creation rules: an expirationTime is required
    and at most HEADLESS_MAX_LIFETIME ahead (its nonce may be the client's own).
    expected_address: the message must be signed in for this address (any case).
    """
    check_message_text(message)
    signature_bytes = parse_signature(signature)
    now = now or timezone.now()

    # Cheapest first: the outline and the fields that must equal our configuration
    # refuse another site's message, or one for another chain, before any grammar.
    _check_outline(message)
    try:
        # The package's regular-expression parser splits the message into fields.
        fields = RegExpParsedMessage(message)
    except ValueError:
        raise SiweFailed("SIWE message does not parse (ValueError)") from None
    _check_claims(fields)
    # The signature before the grammar (SPEC §3): one secp256k1 recovery refuses a
    # forged message at the cost of a valid one, whatever its fields hold.
    first_signer = signer = recover_signer(message, signature_bytes)
    if signer is None or signer.lower() != fields.address.lower():
        raise SiweFailed(f"SIWE signature does not recover {fields.address[:42]}")
    try:
        # Then the model's field validators apply the EIP-4361/RFC 3986 grammar
        # rules to every field: as strict as the whole-message ABNF parse, and
        # several times faster (wallet.siwe_message checks each value once).
        parsed = SiweMessage(**vars(fields))
    except (ValueError, TypeError) as exc:
        # pydantic's ValidationError is a ValueError.
        raise SiweFailed(f"SIWE message does not parse ({type(exc).__name__})") from None

    _check_times(parsed, now=now, headless=headless)
    try:
        address = checksum_address(parsed.address)
    except ValidationFailed:
        raise SiweFailed("SIWE address is neither checksummed nor lowercase") from None
    if expected_address is not None and expected_address.lower() != address.lower():
        raise SiweFailed(f"SIWE message is for {address}, not {expected_address}")

    # What siwe's SiweMessage.verify checks for an externally owned account, in its
    # order: the domain again, expiration, notBefore, then the EIP-191 signature over
    # the message as the model prepares it. Done here because verify() builds a Web3
    # instance on every call (milliseconds) only to reach eth-account's recovery,
    # which wallet.signatures calls directly; without a provider it has no
    # contract-wallet check to offer either.
    if parsed.domain != settings.APP_DOMAIN:
        raise SiweFailed("SIWE verification failed (DomainMismatch)")
    if parsed.expiration_time is not None and now >= parsed.expiration_time._datetime:
        raise SiweFailed("SIWE message expired")
    if parsed.not_before is not None and now < parsed.not_before._datetime:
        raise SiweFailed("SIWE message not yet valid (notBefore)")
    prepared = parsed.prepare_message()
    # Recovery is a pure function of (text, signature): when the model prepares
    # exactly the text that was signed (every well-formed message), the answer is
    # the one computed above, and a second secp256k1 recovery (~0.3 ms) is skipped.
    signer = first_signer if prepared == message else recover_signer(prepared, signature_bytes)
    if signer is None or signer.lower() != parsed.address.lower():
        raise SiweFailed(f"SIWE signature does not recover {address}")

    expiration = parsed.expiration_time._datetime if parsed.expiration_time else None
    return VerifiedSiwe(
        address=address,
        nonce=parsed.nonce,
        chain_id=parsed.chain_id,
        expiration_time=expiration,
    )


_HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"


def _check_outline(message: str) -> None:
    """Cheap checks before the grammar: parsing costs time in proportion to the
    text, so an oversized line, a flood of resources or another site's header is
    refused before any of it is spent."""
    lines = message.split("\n", MAX_LINES)
    if len(lines) > MAX_LINES:
        raise SiweFailed(f"SIWE message has more than {MAX_LINES} lines")
    if any(len(line) > MAX_LINE_CHARS for line in lines):
        raise SiweFailed(f"SIWE message has a line over {MAX_LINE_CHARS} characters")
    if "Resources:" in lines:
        resources = len(lines) - lines.index("Resources:") - 1
        if resources > MAX_RESOURCES:
            raise SiweFailed(f"SIWE message has {resources} resources (at most {MAX_RESOURCES})")
    header = lines[0]
    if not header.endswith(_HEADER_SUFFIX):
        raise SiweFailed("SIWE message does not parse (no EIP-4361 header line)")
    domain = header[: -len(_HEADER_SUFFIX)]
    scheme, sep, rest = domain.partition("://")
    if sep:
        domain = rest
        if scheme.lower() != settings.APP_SCHEME:
            raise SiweFailed(f"SIWE scheme {scheme[:50]!r} is not {settings.APP_SCHEME!r}")
    if domain != settings.APP_DOMAIN:
        raise SiweFailed(f"SIWE domain {domain[:100]!r} is not {settings.APP_DOMAIN!r}")


def _check_claims(fields: RegExpParsedMessage) -> None:
    """The fields that must equal (or, the uri, be on) what we configured, compared
    as the text the parser split out, before the grammar checks them: a message
    that fails here would fail whatever the grammar said. The model built next
    checks the same text again against the grammar, so nothing is skipped."""
    if fields.domain != settings.APP_DOMAIN:
        raise SiweFailed(f"SIWE domain {fields.domain[:100]!r} is not {settings.APP_DOMAIN!r}")
    if fields.scheme is not None and fields.scheme.lower() != settings.APP_SCHEME:
        raise SiweFailed(f"SIWE scheme {fields.scheme[:50]!r} is not {settings.APP_SCHEME!r}")
    if _origin(fields.uri) != _origin(settings.APP_ORIGIN):
        raise SiweFailed(f"SIWE uri {fields.uri[:200]!r} is not on {settings.APP_ORIGIN}")
    if fields.version != "1":
        raise SiweFailed(f"SIWE version {fields.version[:10]!r} is not 1")
    # The parser matched 1*DIGIT here; the line limit keeps int() cheap.
    if int(fields.chain_id) not in settings.SIWE_ALLOWED_CHAIN_IDS:
        raise SiweFailed(f"SIWE chain id {fields.chain_id[:30]} is not allowed")


def _check_times(parsed: SiweMessage, *, now: dt.datetime, headless: bool) -> None:
    if parsed.issued_at._datetime > now + ISSUED_AT_SKEW:
        raise SiweFailed("SIWE issuedAt is in the future")
    if headless:
        if parsed.expiration_time is None:
            raise SiweFailed("SIWE message for key creation has no expirationTime")
        if parsed.expiration_time._datetime > now + HEADLESS_MAX_LIFETIME + ISSUED_AT_SKEW:
            raise SiweFailed("SIWE expirationTime is more than 10 minutes ahead")


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with the default port filled in; None if not http(s)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]
