"""Recovery runs on libsecp256k1 (coincurve), not the pure-Python fallback."""

from eth_account import Account
from eth_keys.backends.coincurve import CoinCurveECCBackend

from tests.wallet.helpers import new_wallet, sign
from wallet.signatures import recover_signer


def test_eth_account_uses_the_coincurve_backend():
    assert isinstance(Account._keys.backend, CoinCurveECCBackend)


def test_recovery_gives_the_signer():
    wallet = new_wallet()
    signature = bytes.fromhex(sign(wallet, "hello")[2:])
    assert recover_signer("hello", signature) == wallet.address
    assert recover_signer("hello!", signature) != wallet.address


def test_unrecoverable_signatures_give_none():
    assert recover_signer("hello", b"\xff" * 65) is None
    assert recover_signer("hello", b"\x00" * 64 + b"\x05") is None
