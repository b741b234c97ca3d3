"""static/js/x402-topup.js in real headless Chromium: the browser wallet (an
injected EIP-1193 provider answering eth_signTypedData_v4 with eth-account)
signs the EIP-3009 authorization, the top-up settles on the local chain and
the new balance comes back.

The first two drive the script alone on pytest-django's in-process
`live_server` (settings from the `paying` fixture). The Billing page's tests
sign in to the production-like gunicorn of tests/browser/conftest.py
(`live_url`, DEBUG off, hashed static names, the pages' CSP), whose
environment carries the same local chain's settings.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from eth_account import Account
from playwright.sync_api import expect

from accounts.models import Organization, User
from accounts.services import organization_create
from billing.models import EntryKind, LedgerEntry, Payment, PaymentStatus
from billing.services import balance_micros, credits_grant

from .conftest import make_person, sign_in

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

    assert error == "The authorization's signature is not the payer's for this token and chain."
    assert Payment.objects.count() == 0
    assert paying.balance(payer.address) == before


# --- the dashboard's Billing page ------------------------------------------------

TEN_USDC = 10 * 10**6
REFUSING_PROVIDER = """
window.ethereum = {
  request: async ({ method }) => {
    if (method === "eth_requestAccounts") return [window.walletAddress];
    // What wallets throw when the user clicks Reject (EIP-1193).
    throw Object.assign(new Error("User rejected the request."), { code: 4001 });
  },
};
"""


def owner_with_credits(micros: int):
    org = organization_create(name="Acme Robotics", slug="acme")
    make_person("alice", org=org, role="owner")
    credits_grant(organization=org, amount_micros=micros, kind=EntryKind.ADJUSTMENT)
    return org


def test_the_billing_page_tops_up_the_signed_in_organization(page, live_url, chain):
    org = owner_with_credits(5_250_000)
    payer = chain.funded_account()
    before_payer, before_recipient = chain.balance(payer.address), chain.balance(chain.pay_to)
    before = Decimal(balance_micros(organization=org.pk)) / 10**6
    expected = f"{before + 10:.6f}"  # 15.250000

    def sign_typed_data(address: str, document: str) -> str:
        assert address == payer.address
        return "0x" + payer.sign_typed_data(full_message=json.loads(document)).signature.hex()

    page.expose_function("walletSignTypedData", sign_typed_data)
    page.add_init_script(f"window.walletAddress = {json.dumps(payer.address)};" + PROVIDER)
    sign_in(page, live_url, "alice")
    page.goto("/billing/")
    assert page.locator("[data-x402-balance]").inner_text() == "5.250000"
    assert page.get_by_text("No payments yet.").is_visible()

    page.get_by_role("button", name="Top up 10 USD").click()

    status = page.locator("[data-x402-status]")
    expect(status).to_have_text(
        f"Paid 10 USD — balance {expected} USD. Reload the page to see the payment listed.",
        timeout=30_000,
    )
    assert page.locator("[data-x402-balance]").inner_text() == expected
    assert page.locator("[data-x402-error]").inner_text() == ""
    assert page.get_by_role("button", name="Top up 10 USD").is_enabled()

    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SETTLED
    assert payment.organization_id == org.pk  # the session's organization ...
    assert payment.payer == payer.address and payment.credit_micros == TEN_USDC
    assert not User.objects.filter(wallet_address=payer.address).exists()  # ... not the payer's
    assert Organization.objects.count() == 1
    entry = LedgerEntry.objects.get(reference=f"x402:{payment.id}")
    assert payment.ledger_entry_id == entry.pk
    assert (entry.organization_id, entry.amount_micros) == (org.pk, TEN_USDC)
    assert balance_micros(organization=org.pk) == 15_250_000
    assert chain.balance(payer.address) == before_payer - TEN_USDC
    assert chain.balance(chain.pay_to) == before_recipient + TEN_USDC

    page.reload()
    assert page.locator("[data-x402-balance]").inner_text() == expected
    rows = page.locator("section[aria-labelledby=payments-title] tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[1:] == [
        "10.000000",
        "Settled",
        payer.address,
        chain.config["X402_NETWORK"],
        payment.tx_hash,
        f"x402:{payment.id}",
    ]


def test_a_wallet_that_refuses_to_sign_changes_nothing(page, live_url, chain):
    org = owner_with_credits(5_000_000)
    payer = chain.funded_account()
    before_payer = chain.balance(payer.address)
    entries = LedgerEntry.objects.count()

    page.add_init_script(f"window.walletAddress = {json.dumps(payer.address)};" + REFUSING_PROVIDER)
    sign_in(page, live_url, "alice")
    page.goto("/billing/")
    page.get_by_role("button", name="Top up 10 USD").click()

    expect(page.get_by_role("alert")).to_have_text(
        "The payment was declined in the wallet; nothing was paid."
    )
    assert page.locator("[data-x402-status]").inner_text() == ""
    assert page.locator("[data-x402-balance]").inner_text() == "5.000000"
    assert Payment.objects.count() == 0
    assert LedgerEntry.objects.count() == entries
    assert balance_micros(organization=org.pk) == 5_000_000
    assert chain.balance(payer.address) == before_payer


def test_without_a_browser_wallet_the_page_says_so(page, live_url, chain):
    owner_with_credits(1_000_000)
    sign_in(page, live_url, "alice")
    page.goto("/billing/")
    page.get_by_role("button", name="Top up 50 USD").click()

    expect(page.get_by_role("alert")).to_have_text(
        "No browser wallet found: install or unlock an Ethereum wallet (such as MetaMask) "
        "holding USDC, then try again."
    )
    assert Payment.objects.count() == 0
