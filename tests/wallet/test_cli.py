"""The command-line wallet (gatehouse-wallet) against a live server, as a script uses it."""

from __future__ import annotations

import json
import stat
import sys
import urllib.request
from pathlib import Path

from eth_account import Account

from accounts.models import User
from apikeys.models import APIKey
from tests.wallet.helpers import run_cli

CONSOLE_SCRIPT = Path(sys.executable).parent / "gatehouse-wallet"


def get(url: str, headers: dict[str, str]) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return json.load(response)


def test_new_sign_in_headers_and_create_key(server, tmp_path):
    key_file = tmp_path / "wallet.key"
    made = run_cli("new", key_file=key_file, cli=[str(CONSOLE_SCRIPT)])  # the installed script
    assert made.returncode == 0, made.stderr
    address = Account.from_key(key_file.read_text().strip()).address
    assert made.stdout == f"{address}\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert run_cli("address", key_file=key_file).stdout == f"{address}\n"

    signed_in = run_cli("sign-in", server, key_file=key_file)
    assert signed_in.returncode == 0, signed_in.stderr
    key = signed_in.stdout.strip()
    assert signed_in.stdout == f"{key}\n" and key.startswith("ek_live_")
    me = get(f"{server}/api/v1/dashboard", {"Authorization": f"Bearer {key}"})
    assert me["authMethod"] == "api_key"
    assert me["user"]["walletAddress"] == address
    assert me["credits"] == {"balance": "5.000000"}  # a new account's free credits

    printed = run_cli("headers", "get", "/api/v1/dashboard?ignored=1", key_file=key_file)
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        "X-Wallet-Address",
        "X-Timestamp",
        "X-Wallet-Signature",
    ]
    headers = dict(line.split(": ", 1) for line in lines)
    assert headers["X-Wallet-Address"] == address
    signed = get(f"{server}/api/v1/dashboard", headers)
    assert (signed["authMethod"], signed["user"]["walletAddress"]) == ("wallet", address)

    created = run_cli("create-key", server, "--name", "my-bot", key_file=key_file)
    assert created.returncode == 0, created.stderr
    bot_key = created.stdout.strip()
    bot = get(f"{server}/api/v1/dashboard", {"X-API-Key": bot_key})
    assert bot["keyId"] == str(APIKey.objects.get(name="my-bot").pk)
    user = User.objects.get(wallet_address=address)
    assert sorted(APIKey.objects.filter(created_by=user).values_list("name", flat=True)) == [
        "SIWE sign-in",
        "my-bot",
    ]


def test_failures_say_what_happened_and_exit_1(server, tmp_path):
    key_file = tmp_path / "wallet.key"
    missing = run_cli("sign-in", server, key_file=key_file)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == (
        f"gatehouse-wallet: no key file {key_file} (make one with: gatehouse-wallet new)\n"
    )
    assert run_cli("new", key_file=key_file).returncode == 0
    again = run_cli("new", key_file=key_file)
    assert (again.returncode, again.stderr) == (
        1,
        f"gatehouse-wallet: {key_file} exists; pass --force to replace it\n",
    )

    # A deactivated wallet user: the SIWE 401 is generic (the reason goes to the log).
    assert run_cli("sign-in", server, key_file=key_file).returncode == 0
    User.objects.update(is_active=False)
    keys_before = APIKey.objects.count()
    refused = run_cli("sign-in", server, key_file=key_file)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        f"gatehouse-wallet: POST {server}/api/auth/siwe/verify: 401 UNAUTHORIZED: "
        "SIWE verification failed\n"
    )
    assert APIKey.objects.count() == keys_before

    bad_url = run_cli("create-key", "127.0.0.1:8000", "--name", "x", key_file=key_file)
    assert bad_url.stderr == (
        "gatehouse-wallet: URL must start with http:// or https://, got '127.0.0.1:8000'\n"
    )
