"""The payment tests' local chain: billing.devchain in its own process on a
free loopback port, and what the tests do with it (mint, read balances, sign
EIP-3009 authorizations by hand for the refusal tests)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from billing.contracts import local_usdc


@dataclass
class Chain:
    process: subprocess.Popen
    config: dict[str, str]
    w3: Web3
    token: Any

    @property
    def chain_id(self) -> int:
        return int(self.config["X402_NETWORK"].split(":")[1])

    @property
    def pay_to(self) -> str:
        return self.config["X402_PAY_TO"]

    @property
    def facilitator(self) -> str:
        return Account.from_key(self.config["X402_FACILITATOR_PRIVATE_KEY"]).address

    def settings(self) -> dict[str, Any]:
        keys = ("X402_NETWORK", "X402_RPC_URL", "X402_ASSET", "X402_PAY_TO")
        keys += ("X402_FACILITATOR_PRIVATE_KEY", "X402_ASSET_NAME", "X402_ASSET_VERSION")
        return {key: self.config[key] for key in keys}

    def paying_settings(self) -> dict[str, Any]:
        """settings() plus what a paying test server uses: no v1 network name for
        this chain id, and a settlement wait short enough for a test."""
        return {**self.settings(), "X402_V1_NETWORK": "", "X402_SETTLE_TIMEOUT_SECONDS": 10}

    def balance(self, address: str) -> int:
        return self.token.functions.balanceOf(address).call()

    def sent_transactions(self) -> int:
        """How many transactions the facilitator's gas key has broadcast."""
        return self.w3.eth.get_transaction_count(self.facilitator, "pending")

    def rpc(self, method: str, *params: Any) -> Any:
        return self.w3.provider.make_request(method, list(params))

    def funded_account(self, units: int = 1_000 * 10**6):
        """A fresh account holding `units` of the token (no ETH: it never pays gas)."""
        account = Account.create()
        minter = Account.from_key(self.config["DEVCHAIN_MINTER_KEY"])
        tx = self.token.functions.mint(account.address, units).build_transaction(
            {
                "from": minter.address,
                "nonce": self.w3.eth.get_transaction_count(minter.address, "pending"),
                "gasPrice": self.w3.eth.gas_price,
                "gas": 200_000,
            }
        )
        tx_hash = self.w3.eth.send_raw_transaction(minter.sign_transaction(tx).raw_transaction)
        assert self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)["status"] == 1
        return account


def start_chain() -> Chain:
    process = subprocess.Popen(
        [sys.executable, "-m", "billing.devchain", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError(f"the local chain did not start: {process.stderr.read()}")
    config = json.loads(line)
    w3 = Web3(Web3.HTTPProvider(config["X402_RPC_URL"], request_kwargs={"timeout": 10}))
    token = w3.eth.contract(address=config["X402_ASSET"], abi=local_usdc()["abi"])
    return Chain(process, config, w3, token)


def stop_chain(chain: Chain) -> None:
    chain.process.terminate()
    try:
        chain.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        chain.process.kill()


def sign_authorization(
    account,
    chain: Chain,
    *,
    to: str,
    value: int,
    valid_after: int = 0,
    valid_before: int | None = None,
    nonce: str | None = None,
    asset: str | None = None,
    chain_id: int | None = None,
    signer=None,
) -> dict[str, Any]:
    """An EIP-3009 TransferWithAuthorization signed with eth-account directly,
    computed independently of the SDK: {authorization, signature}."""
    valid_before = valid_before if valid_before is not None else int(time.time()) + 600
    nonce = nonce or "0x" + secrets.token_hex(32)
    message = {
        "from": account.address,
        "to": to,
        "value": value,
        "validAfter": valid_after,
        "validBefore": valid_before,
        "nonce": bytes.fromhex(nonce[2:]),
    }
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "TransferWithAuthorization": [
                {"name": "from", "type": "address"},
                {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "validAfter", "type": "uint256"},
                {"name": "validBefore", "type": "uint256"},
                {"name": "nonce", "type": "bytes32"},
            ],
        },
        "primaryType": "TransferWithAuthorization",
        "domain": {
            "name": "USD Coin",
            "version": "2",
            "chainId": chain_id or chain.chain_id,
            "verifyingContract": asset or chain.config["X402_ASSET"],
        },
        "message": message,
    }
    signed = (signer or account).sign_message(encode_typed_data(full_message=typed))
    return {
        "authorization": {
            "from": account.address,
            "to": to,
            "value": str(value),
            "validAfter": str(valid_after),
            "validBefore": str(valid_before),
            "nonce": nonce,
        },
        "signature": "0x" + signed.signature.hex().removeprefix("0x"),
    }


def v2_header(payload: dict[str, Any], accepted: dict[str, Any]) -> str:
    body = {"x402Version": 2, "payload": payload, "accepted": accepted}
    return base64.b64encode(json.dumps(body).encode()).decode()


def v1_header(payload: dict[str, Any], network: str, scheme: str = "exact") -> str:
    body = {"x402Version": 1, "scheme": scheme, "network": network, "payload": payload}
    return base64.b64encode(json.dumps(body).encode()).decode()


def decode(value: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(value))
