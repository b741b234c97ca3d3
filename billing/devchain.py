"""A real local EVM chain for development and the payment tests.

    python -m billing.devchain [--port 0] [--env-file PATH]

eth-tester's py-evm backend (a full EVM, no network) behind a small JSON-RPC
server on a loopback port, so that every process of a deployment (two gunicorn
workers, the facilitator, a buyer's wallet) talks to the same chain the way it
would talk to a node. On start it deploys LocalUSDC (billing/contracts, an
EIP-3009 token with USDC's domain name and version), mints to a demo payer and
prints one JSON line with the chain's configuration; `--env-file` also writes it
as the X402_* variables the service reads.

Importing this module imports py-evm, which raises the interpreter's recursion
limit for itself: keep it out of server and test processes (they read the
token's artifact from billing.contracts).

The keys are eth-tester's well-known development keys (0x…01 to 0x…0a): never
use them on a real network.

Besides the standard methods it answers `evm_setAutomine` [bool] and `evm_mine`
(as local nodes do), so a test can hold a settlement in the mempool and see it
time out as `pending`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.eth_tester.middleware import request_formatters, result_formatters

from billing.contracts import local_usdc

TOKEN_NAME = "USD Coin"  # USDC's EIP-712 domain, so the SDK treats it like USDC
TOKEN_SYMBOL = "USDC"
TOKEN_VERSION = "2"
DEMO_PAYER_FUNDS = 1_000 * 10**6  # 1,000 tokens of 6 decimals

# eth-tester's genesis accounts: private key i for i in 1..10.
DEV_KEYS = ["0x" + i.to_bytes(32, "big").hex() for i in range(1, 11)]
MINTER_KEY, FACILITATOR_KEY, PAYER_KEY, RECIPIENT_KEY = DEV_KEYS[:4]


class LocalChain:
    """The chain, its token and the configuration a service needs to use them."""

    def __init__(self) -> None:
        self.tester = EthereumTester(PyEVMBackend())
        self.provider = EthereumTesterProvider(self.tester)
        self.w3 = Web3(self.provider)
        self.lock = threading.RLock()  # eth-tester is not thread-safe
        self.automine = True
        self.held: list[str] = []  # raw transactions sent while automine is off
        self.minter = Account.from_key(MINTER_KEY)
        self.caller = Account.from_key(DEV_KEYS[-1]).address
        self.token = self._deploy()
        self._mint(Account.from_key(PAYER_KEY).address, DEMO_PAYER_FUNDS)

    def _transact(self, tx: dict[str, Any]) -> dict[str, Any]:
        tx.setdefault("from", self.minter.address)
        tx.setdefault("nonce", self.w3.eth.get_transaction_count(self.minter.address))
        tx.setdefault("gasPrice", self.w3.eth.gas_price)
        tx.setdefault("chainId", self.w3.eth.chain_id)
        tx.setdefault("gas", 3_000_000)
        signed = self.minter.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        )
        if receipt["status"] != 1:
            raise RuntimeError(f"setup transaction reverted: {receipt}")
        return dict(receipt)

    def _deploy(self) -> Any:
        artifact = local_usdc()
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx = factory.constructor(TOKEN_NAME, TOKEN_SYMBOL, TOKEN_VERSION).build_transaction(
            {"from": self.minter.address, "gasPrice": self.w3.eth.gas_price}
        )
        receipt = self._transact(tx)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    def _mint(self, to: str, amount: int) -> None:
        self._transact(
            self.token.functions.mint(to, amount).build_transaction(
                {"from": self.minter.address, "gasPrice": self.w3.eth.gas_price}
            )
        )

    def rpc(self, method: str, params: list[Any]) -> dict[str, Any]:
        with self.lock:
            if method == "evm_setAutomine":
                self.automine = bool(params and params[0])
                return {"result": True}
            if method == "evm_mine":
                held, self.held = self.held, []
                for raw in held:  # in the order they were sent, as one sender's nonces need
                    self.provider.make_request("eth_sendRawTransaction", [raw])  # type: ignore[arg-type]
                if not held:
                    self.tester.mine_blocks(1)
                return {"result": "0x0"}
            if method == "eth_sendRawTransaction" and not self.automine:
                # Held here rather than in eth-tester's own pending pool, which
                # cannot mine a raw transaction with an EIP-155 `v` this chain id big.
                self.held.append(params[0])
                return {"result": "0x" + keccak(hexstr=params[0]).hex().removeprefix("0x")}
            if method == "eth_getTransactionCount" and len(params) > 1 and params[1] == "pending":
                sender = to_checksum_address(params[0])
                extra = sum(1 for raw in self.held if Account.recover_transaction(raw) == sender)
                answer = self.rpc("eth_getTransactionCount", [params[0], "latest"])
                return {"result": hex(int(answer["result"], 16) + extra)}
            if method in {"eth_call", "eth_estimateGas"} and params and isinstance(params[0], dict):
                # Nodes default a call's sender (and charge no gas); eth-tester insists
                # on a sender that can afford the gas, so a funded account stands in.
                params = [{"from": self.caller, **params[0]}, *params[1:]]
            # eth-tester speaks Python (snake_case keys); the formatters web3 puts
            # in front of it turn requests and results into JSON-RPC's shapes.
            if method in request_formatters:
                params = request_formatters[method](params)
            try:
                answer = dict(self.provider.make_request(method, params))  # type: ignore[arg-type]
                if "result" in answer and method in result_formatters:
                    answer["result"] = result_formatters[method](answer["result"])
                return {**answer, "result": _rpc_value(answer.get("result"))}
            except TransactionFailed as exc:
                # What a node answers for a revert: code 3 and the Error(string) data,
                # which web3 turns into ContractLogicError with the reason.
                message = str(exc.args[0]) if exc.args else "execution reverted"
                reason = message.removeprefix("execution reverted: ")
                data = "0x08c379a0" + abi_encode(["string"], [reason]).hex()
                return {"error": {"code": 3, "message": message, "data": data}}

    def configuration(self, rpc_url: str) -> dict[str, str]:
        return {
            "X402_NETWORK": f"eip155:{self.w3.eth.chain_id}",
            "X402_RPC_URL": rpc_url,
            "X402_ASSET": self.token.address,
            "X402_ASSET_NAME": TOKEN_NAME,
            "X402_ASSET_VERSION": TOKEN_VERSION,
            "X402_PAY_TO": Account.from_key(RECIPIENT_KEY).address,
            "X402_FACILITATOR_PRIVATE_KEY": FACILITATOR_KEY,
            "DEVCHAIN_MINTER_KEY": MINTER_KEY,
            "DEVCHAIN_PAYER_KEY": PAYER_KEY,
        }


def make_server(chain: LocalChain, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length))
                answer = chain.rpc(request["method"], request.get("params") or [])
            except Exception as exc:
                request = request if isinstance(request, dict) else {}
                answer = {"error": {"code": -32603, "message": str(exc)}}
            answer = {"jsonrpc": "2.0", "id": request.get("id"), **answer}
            answer.pop("result", None) if "error" in answer else None
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per RPC call would drown the test output

    return _Server(("127.0.0.1", port), Handler)


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a burst of payments from a few
    # threaded workers overflowed it and the facilitator's RPC calls were reset
    # (seen as "failed to verify signature" in tests/payments/test_concurrency.py).
    request_queue_size = 128


def _rpc_value(value: Any) -> Any:
    """Python values as JSON-RPC writes them: quantities and bytes in 0x-hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: _rpc_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rpc_value(item) for item in value]
    raise TypeError(f"cannot encode {type(value).__name__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0: a free loopback port")
    parser.add_argument("--env-file", help="also write the X402_* variables here")
    args = parser.parse_args(argv)
    chain = LocalChain()
    server = make_server(chain, args.port)
    config = chain.configuration(f"http://127.0.0.1:{server.server_address[1]}")
    if args.env_file:
        # Shell syntax, so that scripts can source it (`set -a; . ./.devchain.env`).
        lines = (f"{k}={shlex.quote(v)}\n" for k, v in config.items())
        Path(args.env_file).write_text("".join(lines))
    print(json.dumps(config), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
