"""static/js/x402-topup.js in real headless Chromium: the browser wallet (an
injected EIP-1193 provider answering eth_signTypedData_v4 with eth-account)
signs the EIP-3009 authorization, the top-up settles on the local chain and
the new balance comes back."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from billing.models import LedgerEntry, Payment, PaymentStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PROVIDER = """
window.ethereum = {
  request: async ({ method, params }) => {
    if (method === "eth_requestAccounts") return [window.walletAddress];
    if (method === "eth_signTypedData_v4") {
      return await window.walletSignTypedData(params[0], params[1]);
    }
    throw new Error("unsupported method " + method);
  },
};
"""


@pytest.fixture
def browser(chromium):
    """The session's Chromium (tests/browser/conftest.py): one Playwright per session."""
    return chromium


def test_the_browser_wallet_pays_a_top_up(browser, live_server, paying, payer):
    before = paying.balance(payer.address)
    signed = []

    def sign_typed_data(address: str, document: str) -> str:
        assert address == payer.address
        typed = json.loads(document)
        signed.append(typed)
        return "0x" + payer.sign_typed_data(full_message=typed).signature.hex().removeprefix("0x")

    page = browser.new_page()
    page.expose_function("walletSignTypedData", sign_typed_data)
    page.add_init_script(f"window.walletAddress = {json.dumps(payer.address)};" + PROVIDER)
    page.goto(f"{live_server.url}/healthz")
    page.add_script_tag(url=f"{live_server.url}/static/js/x402-topup.js")

    answer = page.evaluate("window.GatehouseTopUp.topUp(10)")

    payment = Payment.objects.get()
    assert answer["status"] == "settled"
    assert answer["balance"] == "10.000000"
    assert answer["paymentId"] == str(payment.id)
    assert payment.status == PaymentStatus.SETTLED and payment.x402_version == 2
    assert LedgerEntry.objects.get().reference == f"x402:{payment.id}"
    (typed,) = signed
    assert typed["primaryType"] == "TransferWithAuthorization"
    assert typed["domain"]["verifyingContract"] == paying.config["X402_ASSET"]
    assert typed["message"]["to"] == paying.pay_to and typed["message"]["value"] == "10000000"
    assert paying.balance(payer.address) == before - 10 * 10**6


def test_a_refusing_wallet_leaves_everything_as_it_was(browser, live_server, paying, payer):
    before = paying.balance(payer.address)
    page = browser.new_page()
    # A signature by another key: the facilitator refuses it.
    other = Account.create()

    def sign_typed_data(address: str, document: str) -> str:
        return "0x" + other.sign_typed_data(full_message=json.loads(document)).signature.hex()

    page.expose_function("walletSignTypedData", sign_typed_data)
    page.add_init_script(f"window.walletAddress = {json.dumps(payer.address)};" + PROVIDER)
    page.goto(f"{live_server.url}/healthz")
    page.add_script_tag(url=f"{live_server.url}/static/js/x402-topup.js")

    error = page.evaluate("window.GatehouseTopUp.topUp(10).then(() => null, (e) => e.message)")

    assert error == "Payment refused: invalid_exact_evm_payload_signature."
    assert Payment.objects.count() == 0
    assert paying.balance(payer.address) == before
