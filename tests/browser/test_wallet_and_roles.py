"""Sign-In with Ethereum through the page's own JavaScript (an EIP-1193 provider
injected into the page, its personal_sign answered by eth-account in the test),
and a member who cannot revoke an admin's key in a real browser."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import expect

from accounts.models import User
from accounts.services import organization_create
from apikeys.check import apikey_verify
from apikeys.models import APIKey
from apikeys.services import apikey_create

from .conftest import make_person, sign_in

pytestmark = pytest.mark.browser

PROVIDER = """
(() => {
  const address = "%s";
  window.ethereum = {
    isTestWallet: true,
    request: async ({ method, params }) => {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [address];
      if (method === "personal_sign") return await window.testWalletSign(params[0], params[1]);
      const error = new Error("Unsupported method " + method);
      error.code = 4200;
      throw error;
    },
  };
})();
"""


def test_sign_in_with_ethereum(page, live_url):
    wallet = Account.create()
    signed: list[str] = []

    def personal_sign(message_hex: str, address: str) -> str:
        assert address == wallet.address
        text = bytes.fromhex(message_hex.removeprefix("0x")).decode()
        signed.append(text)
        return "0x" + wallet.sign_message(encode_defunct(text=text)).signature.hex().removeprefix(
            "0x"
        )

    page.expose_function("testWalletSign", personal_sign)
    page.add_init_script(PROVIDER % wallet.address)
    page.goto("/signin")
    page.get_by_role("button", name="Sign in with Ethereum").click()
    page.wait_for_url(f"{live_url}/")

    assert len(signed) == 1
    host = live_url.removeprefix("http://")
    assert signed[0].startswith(
        f"{host} wants you to sign in with your Ethereum account:\n{wallet.address}\n"
    )
    user = User.objects.get(wallet_address=wallet.address)
    assert page.locator("h1").inner_text() == user.memberships.get().organization.name
    # The browser sign-in makes a session, not a key.
    assert APIKey.objects.count() == 0
    page.get_by_role("link", name="Billing").click()
    assert "5.000000 USD" in page.inner_text("main")


def test_a_refused_signature_is_explained_on_the_page(page, live_url):
    wallet = Account.create()

    def refuse(message_hex: str, address: str) -> str:
        return "0x" + "11" * 65  # not a signature of this message

    page.expose_function("testWalletSign", refuse)
    page.add_init_script(PROVIDER % wallet.address)
    page.goto("/signin")
    page.get_by_role("button", name="Sign in with Ethereum").click()
    expect(page.locator("[data-siwe-error]")).not_to_be_empty()
    assert page.locator("[data-siwe-error]").inner_text() == "SIWE verification failed"
    assert page.url == f"{live_url}/signin"
    assert not User.objects.filter(wallet_address=wallet.address).exists()


def test_a_member_cannot_revoke_an_admins_key(page, live_url):
    org = organization_create(name="Acme", slug="acme")
    admin = make_person("carol", org=org, role="admin")
    make_person("bob", org=org, role="member")
    theirs, full_key = apikey_create(organization=org, created_by=admin, name="carol's key")

    sign_in(page, live_url, "bob")
    page.goto("/keys/")
    row = page.get_by_role("row").filter(has_text="carol's key")
    assert row.count() == 1
    assert row.get_by_role("link", name="Revoke").count() == 0
    page.goto(f"/keys/{theirs.pk}/")
    assert page.get_by_role("link", name="Revoke").count() == 0

    # A forged POST from the member's own session, with a valid CSRF token.
    status = page.evaluate(
        """async (url) => {
            const cookie = document.cookie.split("; ").find(c => c.startsWith("csrftoken="));
            const token = cookie.split("=")[1];
            const body = new URLSearchParams({csrfmiddlewaretoken: token});
            const r = await fetch(url, {method: "POST", body, credentials: "same-origin"});
            return r.status;
        }""",
        f"/keys/{theirs.pk}/revoke",
    )
    assert status == 403
    assert APIKey.objects.get(pk=theirs.pk).revoked_at is None
    assert apikey_verify(full_key).valid
