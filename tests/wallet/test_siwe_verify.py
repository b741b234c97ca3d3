"""EIP-4361 verification, check by check, with real signatures."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import override_settings

from config.errors import ValidationFailed
from tests.helpers import cache_ttl
from tests.wallet.helpers import new_wallet, sign, siwe_text, siwe_verify
from wallet.nonces import nonce_claim, nonce_issue
from wallet.siwe_verify import SiweFailed


def verify(account, text, **kwargs):
    return siwe_verify(message=text, signature=sign(account, text), **kwargs)


def reason_of(account, text, **kwargs) -> str:
    with pytest.raises(SiweFailed) as info:
        verify(account, text, **kwargs)
    assert info.value.status_code == 401
    assert info.value.code == "UNAUTHORIZED"
    assert info.value.message == "SIWE verification failed"
    return info.value.reason


def test_issued_nonce_is_random_alphanumeric_and_cached_five_minutes():
    a, b = nonce_issue(), nonce_issue()
    assert a != b
    assert len(a) == 24 and a.isalnum() and a.isascii()
    assert cache.get(f"siwe:nonce:{a}") == 1
    assert 295 < cache_ttl(f"siwe:nonce:{a}") <= 300


def test_issued_nonce_is_claimed_once():
    n = nonce_issue()
    assert nonce_claim(n, allow_client_nonce=False) is True
    assert nonce_claim(n, allow_client_nonce=False) is False
    assert nonce_claim(n, allow_client_nonce=True) is False


def test_unknown_nonce_is_refused_unless_client_nonces_are_allowed():
    assert nonce_claim("clientNonce123", allow_client_nonce=False) is False
    # Presented once (and refused) is still presented: never usable afterwards.
    assert nonce_claim("clientNonce123", allow_client_nonce=True) is False
    assert nonce_claim("otherNonce1234", allow_client_nonce=True) is True
    assert nonce_claim("otherNonce1234", allow_client_nonce=True) is False


@pytest.mark.django_db
def test_valid_message_verifies_and_spends_the_nonce(wallet):
    n = nonce_issue()
    text = siwe_text(wallet, nonce=n)
    result = verify(wallet, text)
    assert result.address == wallet.address
    assert result.nonce == n
    assert result.chain_id == 1
    assert cache.get(f"siwe:nonce:{n}") is None
    assert reason_of(wallet, text) == "SIWE nonce unknown, expired or already used"


@pytest.mark.django_db
def test_lowercase_address_in_message_is_accepted_and_checksummed(wallet):
    text = siwe_text(wallet, nonce=nonce_issue(), address=wallet.address.lower())
    assert verify(wallet, text).address == wallet.address


@pytest.mark.django_db
def test_uppercase_address_in_message_is_refused(wallet):
    text = siwe_text(wallet, nonce=nonce_issue(), address="0x" + wallet.address[2:].upper())
    assert "neither checksummed nor lowercase" in reason_of(wallet, text)


@pytest.mark.django_db
def test_base_chain_is_allowed(wallet):
    assert verify(wallet, siwe_text(wallet, nonce=nonce_issue(), chain_id=8453)).chain_id == 8453


@pytest.mark.django_db
def test_uri_may_be_any_path_on_our_origin(wallet):
    text = siwe_text(wallet, nonce=nonce_issue(), uri="http://127.0.0.1:8000/login?x=1")
    assert verify(wallet, text).address == wallet.address


@pytest.mark.django_db
def test_matching_scheme_is_accepted(wallet):
    assert verify(wallet, siwe_text(wallet, nonce=nonce_issue(), scheme="http"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"domain": "evil.example"}, "SIWE domain 'evil.example' is not '127.0.0.1:8000'"),
        ({"domain": "127.0.0.1"}, "SIWE domain '127.0.0.1' is not '127.0.0.1:8000'"),
        ({"domain": "127.0.0.1:8001"}, "SIWE domain '127.0.0.1:8001' is not"),
        ({"uri": "https://127.0.0.1:8000"}, "SIWE uri 'https://127.0.0.1:8000' is not on"),
        ({"uri": "http://127.0.0.1:8001/"}, "SIWE uri 'http://127.0.0.1:8001/' is not on"),
        ({"uri": "http://evil.example/"}, "SIWE uri 'http://evil.example/' is not on"),
        ({"uri": "did:pkh:eip155:1:0x0"}, "SIWE uri 'did:pkh:eip155:1:0x0' is not on"),
        ({"scheme": "https"}, "SIWE scheme 'https' is not 'http'"),
        ({"chain_id": 5}, "SIWE chain id 5 is not allowed"),
        ({"chain_id": 0}, "SIWE chain id 0 is not allowed"),
        (
            {"issued_at": dt.timedelta(seconds=120)},
            "SIWE issuedAt is in the future",
        ),
        ({"expiration": -dt.timedelta(seconds=1)}, "SIWE message expired"),
        (
            {"not_before": dt.timedelta(minutes=2)},
            "SIWE message not yet valid (notBefore)",
        ),
    ],
)
def test_each_check_fails_with_its_reason(wallet, changes, reason):
    n = nonce_issue()
    assert reason_of(wallet, siwe_text(wallet, nonce=n, **changes)).startswith(reason)
    # A refused message does not spend the nonce.
    assert cache.get(f"siwe:nonce:{n}") == 1


@pytest.mark.django_db
def test_issued_at_within_the_skew_is_accepted(wallet):
    text = siwe_text(
        wallet,
        nonce=nonce_issue(),
        issued_at=dt.timedelta(seconds=30),
    )
    assert verify(wallet, text)


@pytest.mark.django_db
def test_not_before_in_the_past_is_accepted(wallet):
    text = siwe_text(wallet, nonce=nonce_issue(), not_before=-dt.timedelta(minutes=1))
    assert verify(wallet, text)


@pytest.mark.django_db
def test_message_without_expiration_is_accepted_for_sign_in(wallet):
    assert verify(wallet, siwe_text(wallet, nonce=nonce_issue(), expiration=None))


@pytest.mark.django_db
def test_signature_by_another_wallet_fails_and_keeps_the_nonce(wallet):
    n = nonce_issue()
    text = siwe_text(wallet, nonce=n)
    other = new_wallet()
    with pytest.raises(SiweFailed) as info:
        siwe_verify(message=text, signature=sign(other, text))
    assert info.value.reason == f"SIWE signature does not recover {wallet.address}"
    assert cache.get(f"siwe:nonce:{n}") == 1
    assert verify(wallet, text).address == wallet.address


@pytest.mark.django_db
def test_signature_over_other_text_fails(wallet):
    text = siwe_text(wallet, nonce=nonce_issue())
    with pytest.raises(SiweFailed):
        siwe_verify(message=text, signature=sign(wallet, text + " "))


@pytest.mark.django_db
def test_edited_message_fails(wallet):
    text = siwe_text(wallet, nonce=nonce_issue(), chain_id=1)
    signature = sign(wallet, text)
    with pytest.raises(SiweFailed) as info:
        siwe_verify(message=text.replace("Chain ID: 1", "Chain ID: 8453"), signature=signature)
    assert info.value.reason.startswith("SIWE signature does not recover")


@pytest.mark.django_db
def test_nonce_not_issued_here_fails(wallet):
    assert (
        reason_of(wallet, siwe_text(wallet, nonce="madeUpByClient1"))
        == "SIWE nonce unknown, expired or already used"
    )


@pytest.mark.django_db
def test_expired_nonce_fails(wallet):
    n = nonce_issue()
    cache.delete(f"siwe:nonce:{n}")  # what the TTL does after five minutes
    assert reason_of(wallet, siwe_text(wallet, nonce=n)).startswith("SIWE nonce unknown")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "127.0.0.1:8000 wants you to sign in with your Ethereum account:\n0x0\n",
        "\n" * 10,
    ],
)
def test_unparseable_message_fails(wallet, text):
    assert reason_of(wallet, text).startswith("SIWE message does not parse")


@pytest.mark.django_db
def test_oversized_line_is_refused_before_parsing(wallet):
    text = siwe_text(wallet, nonce=nonce_issue(), statement="a" * 513)
    assert reason_of(wallet, text) == "SIWE message has a line over 512 characters"
    text = siwe_text(wallet, nonce=nonce_issue(), statement="a" * 512)
    assert verify(wallet, text)


@pytest.mark.django_db
def test_too_many_lines_are_refused_before_parsing(wallet):
    text = siwe_text(wallet, nonce=nonce_issue()) + "\nResources:" + "\n- https://a.b/c" * 40
    assert reason_of(wallet, text) == "SIWE message has more than 40 lines"


@pytest.mark.django_db
def test_some_resources_are_fine(wallet):
    text = siwe_text(wallet, nonce=nonce_issue()) + "\nResources:" + "\n- https://a.b/c" * 5
    assert verify(wallet, text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("evil.example", "SIWE domain 'evil.example' is not '127.0.0.1:8000'"),
        ("https://127.0.0.1:8000", "SIWE scheme 'https' is not 'http'"),
        ("http://evil.example", "SIWE domain 'evil.example' is not '127.0.0.1:8000'"),
    ],
)
def test_header_line_is_checked_first(wallet, header, reason):
    text = siwe_text(wallet, nonce=nonce_issue()).replace("127.0.0.1:8000", header, 1)
    assert reason_of(wallet, text) == reason


@pytest.mark.django_db
def test_version_two_does_not_parse(wallet):
    text = siwe_text(wallet, nonce=nonce_issue()).replace("Version: 1", "Version: 2")
    assert reason_of(wallet, text).startswith("SIWE message does not parse")


@pytest.mark.django_db
def test_short_nonce_does_not_parse(wallet):
    text = siwe_text(wallet, nonce="abcdefgh").replace("abcdefgh", "abcdefg")
    assert reason_of(wallet, text).startswith("SIWE message does not parse")


@pytest.mark.django_db
@override_settings(SIWE_ALLOWED_CHAIN_IDS=[8453])
def test_allowed_chains_follow_the_setting(wallet):
    assert reason_of(wallet, siwe_text(wallet, nonce=nonce_issue())).startswith(
        "SIWE chain id 1 is not allowed"
    )


@pytest.mark.django_db
@override_settings(APP_URL="https://gate.example", APP_ORIGIN="https://gate.example")
@override_settings(APP_DOMAIN="gate.example", APP_SCHEME="https")
def test_domain_and_origin_follow_app_url(wallet):
    text = siwe_text(wallet, nonce=nonce_issue(), uri="https://gate.example:443/app")
    assert verify(wallet, text)


@pytest.mark.django_db
def test_client_nonce_works_once(wallet):
    text = siwe_text(wallet, nonce="clientChosen42")
    assert verify(wallet, text, headless=True).nonce == "clientChosen42"
    assert reason_of(wallet, text, headless=True).startswith("SIWE nonce unknown")


@pytest.mark.django_db
def test_issued_nonce_works_too_and_is_consumed(wallet):
    n = nonce_issue()
    assert verify(wallet, siwe_text(wallet, nonce=n), headless=True)
    assert cache.get(f"siwe:nonce:{n}") is None


@pytest.mark.django_db
def test_expiration_is_required(wallet):
    text = siwe_text(wallet, nonce="clientChosen42", expiration=None)
    assert reason_of(wallet, text, headless=True) == (
        "SIWE message for key creation has no expirationTime"
    )


@pytest.mark.django_db
def test_expiration_more_than_ten_minutes_ahead_fails(wallet):
    text = siwe_text(wallet, nonce="clientChosen42", expiration=dt.timedelta(minutes=15))
    assert reason_of(wallet, text, headless=True) == (
        "SIWE expirationTime is more than 10 minutes ahead"
    )


@pytest.mark.django_db
def test_expiration_ten_minutes_ahead_is_fine(wallet):
    exp = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    assert verify(wallet, siwe_text(wallet, nonce="clientChosen42", expiration=exp), headless=True)


@pytest.mark.django_db
def test_sign_in_message_cannot_be_replayed_for_key_creation(wallet):
    text = siwe_text(wallet, nonce=nonce_issue())
    assert verify(wallet, text)
    assert reason_of(wallet, text, headless=True).startswith("SIWE nonce unknown")


@pytest.mark.django_db
def test_key_creation_message_cannot_be_replayed_for_sign_in(wallet):
    n = nonce_issue()
    text = siwe_text(wallet, nonce=n)
    assert verify(wallet, text, headless=True)
    assert reason_of(wallet, text).startswith("SIWE nonce unknown")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (None, "message must be a string."),
        (12, "message must be a string."),
        ("", "message must not be empty."),
        ("x" * 4097, "message must be at most 4096 characters."),
        ("Ünïcode", "message must be ASCII text."),
    ],
)
def test_malformed_message_is_a_400(message, reason):
    with pytest.raises(ValidationFailed) as info:
        siwe_verify(message=message, signature="0x" + "11" * 65)
    assert info.value.status_code == 400
    assert info.value.message == reason


@pytest.mark.parametrize(
    "signature",
    [None, 5, "", "0x", "0x" + "11" * 64, "0x" + "11" * 66, "0x" + "zz" * 65, "11" * 64],
)
def test_malformed_signature_is_a_400(signature):
    with pytest.raises(ValidationFailed) as info:
        siwe_verify(message="hello", signature=signature)
    assert info.value.status_code == 400
    assert "signature" in info.value.details["fields"]


def counting_recoveries(monkeypatch) -> list[str]:
    import wallet.siwe_verify as module

    texts: list[str] = []
    real = module.recover_signer

    def counted(text, signature):
        texts.append(text)
        return real(text, signature)

    monkeypatch.setattr(module, "recover_signer", counted)
    return texts


def test_a_well_formed_message_is_recovered_once(wallet, monkeypatch):
    texts = counting_recoveries(monkeypatch)
    text = siwe_text(wallet, nonce=nonce_issue())
    assert verify(wallet, text).address == wallet.address
    assert texts == [text]  # the model prepares the same text: the same answer


def test_a_message_the_model_prepares_otherwise_is_recovered_again(wallet, monkeypatch):
    texts = counting_recoveries(monkeypatch)
    text = siwe_text(wallet, nonce=nonce_issue()) + "\n"  # parses; prepared without it
    assert reason_of(wallet, text) == f"SIWE signature does not recover {wallet.address}"
    assert texts == [text, text[:-1]]
