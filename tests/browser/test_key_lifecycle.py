"""The customer's path through the dashboard in a real Chromium against a live
gunicorn: sign up, sign out, sign in, create a key (shown once, works on the
API), reload (only the hint), regenerate with a grace period (old and new both
work), revoke (the API refuses it at once), sign out."""

from __future__ import annotations

import re

import pytest

from apikeys.models import APIKey

from .conftest import PASSWORD, api_get, make_person, sign_in

pytestmark = pytest.mark.browser
EMAIL = "dana@example.com"


def test_sign_up_to_revoke(page, live_url):
    page.goto("/")
    assert page.url == f"{live_url}/signin?next=/"
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_label("Organization name").fill("Dana Labs")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{live_url}/keys/")
    assert "Dana Labs" in page.locator("header").inner_text()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_url}/signin")
    page.get_by_label("Username or email").fill(EMAIL.upper())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{live_url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Dana Labs"

    # Create: the key is shown once, on a no-store page.
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="Create key").click()
    page.get_by_label("Name").fill("CI deploys")
    page.get_by_label("keys: create, regenerate and revoke API keys").check()
    with page.expect_response(f"{live_url}/keys/new") as created:
        page.get_by_role("button", name="Create key").click()
    assert created.value.status == 201
    assert created.value.headers["cache-control"] == "no-store"
    assert "You will not see it again" in page.inner_text("main")
    first = page.locator("#full-key").input_value()
    assert re.fullmatch(r"ek_live_[0-9A-Za-z]+", first)
    assert api_get(live_url, "/api/v1/dashboard", first) == 200
    key = APIKey.objects.get()
    assert key.permissions == ["keys"]

    # Reload the list: the hint, never the key.
    page.get_by_role("link", name="I have copied it").click()
    page.goto("/keys/")
    assert key.hint in page.content()
    assert first not in page.content()
    page.reload()
    assert first not in page.content()

    # Regenerate with a grace period: both secrets work.
    page.get_by_role("link", name="Regenerate").click()
    page.get_by_label("1 hour").check()
    page.get_by_role("button", name="Regenerate").click()
    second = page.locator("#full-key").input_value()
    assert second != first
    assert "The old secret keeps working until" in page.inner_text("main")
    assert api_get(live_url, "/api/v1/dashboard", first) == 200
    assert api_get(live_url, "/api/v1/dashboard", second) == 200

    # Revoke, behind a confirmation: refused by the API at once.
    page.goto(f"/keys/{key.pk}/")
    page.get_by_role("link", name="Revoke").click()
    assert "cannot be undone" in page.inner_text("main")
    page.get_by_role("button", name="Revoke the key").click()
    page.wait_for_url(f"{live_url}/keys/{key.pk}/")
    assert "revoked" in page.locator("h1").inner_text()
    assert api_get(live_url, "/api/v1/dashboard", second) == 401
    assert api_get(live_url, "/api/v1/dashboard", first) == 401

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_url}/signin")
    page.goto("/keys/")
    assert page.url == f"{live_url}/signin?next=/keys/"


def test_a_double_clicked_create_makes_one_key(page, live_url):
    from accounts.services import organization_create

    make_person("alice", org=organization_create(name="Acme", slug="acme"))
    sign_in(page, live_url, "alice")
    page.goto("/keys/new")
    page.get_by_label("Name").fill("clicked twice")
    page.get_by_role("button", name="Create key").dblclick()
    page.wait_for_load_state()
    page.locator("#full-key, .messages").first.wait_for()
    assert APIKey.objects.filter(name="clicked twice").count() == 1
