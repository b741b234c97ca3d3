"""Static files in production (gunicorn, DEBUG off): whitenoise serves the admin's
CSS, the API docs' JavaScript and the dashboard's CSS from `collectstatic`'s
hashed copies, and Chromium renders each page styled (computed styles checked)."""

from __future__ import annotations

import re
import urllib.request

import pytest

pytestmark = pytest.mark.browser


def fetch(url: str) -> tuple[int, str, dict]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode("utf-8", "replace"), dict(response.headers)


def static_urls(html: str, suffix: str) -> list[str]:
    return re.findall(rf'(?:href|src)="(/static/[^"]+\.{suffix})"', html)


def test_the_admins_css_is_served_and_applied(page, live_url):
    _, html, _ = fetch(live_url + "/admin/login/")
    sheets = static_urls(html, "css")
    assert any(re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css$", s) for s in sheets), sheets
    for sheet in sheets:
        status, body, headers = fetch(live_url + sheet)
        assert status == 200 and headers["Content-Type"].startswith("text/css"), sheet
        assert "max-age=315360000" in headers["Cache-Control"]  # hashed names cache forever
        assert body
    page.goto("/admin/login/")
    header = page.locator("#header")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(65, 118, 144)"
    assert (
        page.locator("#site-name a").evaluate("e => getComputedStyle(e).color") != "rgb(0, 0, 238)"
    )


def test_the_api_docs_javascript_is_served_and_runs(page, live_url):
    scripts: dict[str, int] = {}
    page.on(
        "response",
        lambda r: scripts.__setitem__(r.url, r.status) if r.url.endswith(".js") else None,
    )
    page.goto("/api/docs/")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for()
    assert "Gatehouse API" in title.inner_text()
    assert scripts and all(status == 200 for status in scripts.values()), scripts
    assert any("swagger-ui-bundle" in url for url in scripts)
    assert title.evaluate("e => getComputedStyle(e).fontSize") == "36px"


def test_the_dashboards_css_is_served_and_applied(page, live_url):
    _, html, _ = fetch(live_url + "/signin")
    sheets = static_urls(html, "css")
    assert len(sheets) == 1 and re.search(r"/static/css/app\.[0-9a-f]{12}\.css$", sheets[0])
    status, _, headers = fetch(live_url + sheets[0])
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    page.goto("/signin")
    body = page.locator("body")
    assert body.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(245, 246, 248)"
    button = page.get_by_role("button", name="Sign in", exact=True)
    assert button.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(31, 79, 199)"
    assert page.locator(".card").first.evaluate("e => getComputedStyle(e).borderRadius") == "6px"
