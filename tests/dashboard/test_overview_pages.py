"""Overview (usage chart drawn on the server, recent activity), billing (balance,
paged ledger), the headers of every page, and query budgets."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from apikeys.models import KeyUsageDay
from apikeys.services import apikey_create
from apikeys.usage import usage_add, usage_by_day
from billing.models import EntryKind
from billing.services import credits_grant

pytestmark = pytest.mark.django_db
TEMPLATES = Path(settings.BASE_DIR) / "templates"


def bar_heights(html: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([0-9.]+)"', html)]


def test_the_chart_is_svg_with_one_bar_per_day(owner_client, org, make_key):
    key, _ = make_key()
    other, _ = make_key(name="other")
    today = timezone.now().date()
    usage_add(key_id=key.pk, organization_id=org.pk, day=today, requests=40)
    usage_add(key_id=other.pk, organization_id=org.pk, day=today, requests=60)
    usage_add(key_id=key.pk, organization_id=org.pk, day=today - timedelta(days=29), requests=50)
    usage_add(key_id=key.pk, organization_id=org.pk, day=today - timedelta(days=30), requests=999)

    html = owner_client.get("/").content.decode()
    heights = bar_heights(html)
    assert len(heights) == 30
    # Axis top is 100 (the peak); the plot is 220 - 12 - 28 = 180 px tall.
    assert heights[0] == 90.0 and heights[-1] == 180.0
    assert heights[1:-1] == [0.0] * 28
    assert "150 requests in the last 30 days" in html
    assert f"<td>{today:%Y-%m-%d}</td><td>100</td>" in html

    one = owner_client.get(f"/?key={key.pk}").content.decode()
    assert bar_heights(one)[-1] == 144.0  # 40 of an axis of 50
    assert "90 requests in the last 30 days" in one


def test_usage_add_adds(org, make_key):
    key, _ = make_key()
    today = timezone.now().date()
    usage_add(key_id=key.pk, organization_id=org.pk, day=today, requests=3)
    usage_add(key_id=key.pk, organization_id=org.pk, day=today, requests=4)
    usage_add(key_id=key.pk, organization_id=org.pk, day=today, requests=0)
    assert KeyUsageDay.objects.get().requests == 7
    series = usage_by_day(organization_id=org.pk, today=today, days=3)
    assert series == [(today - timedelta(days=2), 0), (today - timedelta(days=1), 0), (today, 7)]


def test_recent_activity_lists_key_events_and_ledger_rows(owner_client, org, make_key):
    make_key(name="deploy bot")
    credits_grant(
        organization=org, amount_micros=2_500_000, kind=EntryKind.ADJUSTMENT, description="welcome"
    )
    html = owner_client.get("/").content.decode()
    assert "deploy bot</a>: created by alice" in html
    assert "Credits operator adjustment: 2.500000 USD (welcome)" in html
    assert "2.500000 USD" in html


def test_billing_shows_the_balance_and_pages_the_ledger(owner_client, org):
    for i in range(30):
        credits_grant(
            organization=org,
            amount_micros=1_000_000,
            kind=EntryKind.ADJUSTMENT,
            description=f"grant {i}",
        )
    first = owner_client.get("/billing/").content.decode()
    assert "<dd><span data-x402-balance>30.000000</span> USD</dd>" in first
    assert "grant 29" in first and "grant 4<" not in first
    assert "Page 1 of 2" in first
    assert 'id="top-up"' in first and "x402" in first
    second = owner_client.get("/billing/?page=2").content.decode()
    assert "grant 4<" in second and "grant 29" not in second
    assert owner_client.get("/billing/?page=abc").status_code == 200
    assert owner_client.get("/billing/?page=999").status_code == 200


def test_every_page_has_the_content_security_policy(owner_client, make_key):
    key, _ = make_key()
    for url in (
        "/",
        "/keys/",
        "/keys/new",
        f"/keys/{key.pk}/",
        f"/keys/{key.pk}/revoke",
        "/billing/",
        "/members/",
        "/nowhere",
    ):
        response = owner_client.get(url)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
        assert "unsafe-inline" not in csp
        assert response["X-Frame-Options"] == "DENY"
    owner_client.logout()
    assert "frame-ancestors 'none'" in owner_client.get("/signin")["Content-Security-Policy"]


def test_the_api_is_not_given_the_pages_policy(api):
    assert "Content-Security-Policy" not in api.get("/api/v1/dashboard")


def test_no_template_has_inline_script_or_event_handlers():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+\s*=", text), path
        assert not re.search(r"\sstyle\s*=", text), path  # style-src 'self' refuses them too


def test_keys_page_with_25_keys_is_a_bounded_number_of_queries(
    owner_client, org, user, django_assert_max_num_queries, settings
):
    settings.API_KEY_MAX_ACTIVE = 30
    for i in range(25):
        apikey_create(organization=org, created_by=user, name=f"key {i}")
    owner_client.get("/keys/")
    with django_assert_max_num_queries(6):
        response = owner_client.get("/keys/")
    assert response.content.decode().count('<td class="actions">') == 25


def test_overview_with_30_days_of_usage_is_a_bounded_number_of_queries(
    owner_client, org, user, make_key, django_assert_max_num_queries
):
    today = timezone.now().date()
    keys = [make_key(name=f"k{i}")[0] for i in range(5)]
    for key in keys:
        for d in range(30):
            usage_add(
                key_id=key.pk, organization_id=org.pk, day=today - timedelta(days=d), requests=d + 1
            )
    credits_grant(organization=org, amount_micros=1, kind=EntryKind.ADJUSTMENT)
    owner_client.get("/")
    with django_assert_max_num_queries(9):
        response = owner_client.get("/")
    assert "2,325 requests in the last 30 days" in response.content.decode()


def test_usage_flush_moves_what_is_new_into_the_day(org, make_key):
    from django.core.cache import cache

    from apikeys.keycache import usage_key
    from apikeys.usage import usage_flush

    key, _ = make_key()
    today = timezone.now().date()
    name = usage_key(key.digest)
    flush = {"digest": key.digest, "key_id": key.pk, "organization_id": org.pk}
    assert usage_flush(**flush, day=today) == 0
    cache.set(name, 5, 60)
    assert usage_flush(**flush, day=today) == 5
    assert usage_flush(**flush, day=today) == 0
    cache.incr(name)
    assert usage_flush(**flush, day=today + timedelta(days=1)) == 1
    assert cache.get(name) == 6
    cache.set(name, 2, 60)  # the counter expired and started again
    assert usage_flush(**flush, day=today) == 2
    rows = dict(KeyUsageDay.objects.values_list("day", "requests"))
    assert rows == {today: 7, today + timedelta(days=1): 1}
