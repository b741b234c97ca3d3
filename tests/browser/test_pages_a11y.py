"""Every page in Chromium: no serious or critical axe-core violations, at desktop
and phone width, and a screenshot of each. Screenshots go to a temporary folder,
or to $SCREENSHOTS_DIR when set (the README's come from `SCREENSHOTS_DIR=docs/img`)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from accounts.services import membership_add, organization_create
from apikeys.services import apikey_create, apikey_revoke
from apikeys.usage import usage_add
from billing.models import EntryKind, Payment, PaymentKind
from billing.payments import payment_complete
from billing.services import credits_grant

from .conftest import DESKTOP, PHONE, make_person, sign_in

pytestmark = pytest.mark.browser
BLOCKING = {"serious", "critical"}


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def populate():
    """An organization that has been used for a month."""
    org = organization_create(name="Acme Robotics", slug="acme")
    alice = make_person("alice", org=org, role="owner", email="alice@example.com")
    bob = make_person("bob", org=org, role="member")
    membership_add(
        user=alice, organization=organization_create(name="Side Project", slug="side"), role="admin"
    )
    today = timezone.now().date()
    keys = []
    for i, (name, env, perms, creator) in enumerate(
        [
            ("Production backend", "live", ["chat", "embeddings"], alice),
            ("CI deploys", "live", ["keys"], alice),
            ("Staging agent", "test", [], bob),
            ("Old laptop", "live", ["chat:read"], bob),
        ]
    ):
        key, _ = apikey_create(
            organization=org, created_by=creator, name=name, environment=env, permissions=perms
        )
        keys.append(key)
        for d in range(30):
            usage_add(
                key_id=key.pk,
                organization_id=org.pk,
                day=today - timedelta(days=d),
                requests=((d * 37 + i * 11) % 23) * (40 - i * 9) + 20 * (30 - d),
            )
    apikey_revoke(key=keys[3], actor_id=bob.pk)
    # A top-up paid with x402, settled and credited by the service (the Billing
    # page lists it; the live server takes payments, so its buttons show too).
    payment = Payment.objects.create(
        kind=PaymentKind.TOPUP,
        x402_version=2,
        network="eip155:8453",
        payer="0x5B38Da6a701c568545dCfcB03FcB875f56beddC4",
        nonce="0x" + "5e" * 32,
        asset="0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        pay_to="0xAb8483F64d9C6d1EcF9b849Ae677dD3315835cb2",
        amount_atomic=25_000_000,
        credit_micros=25_000_000,
        organization=org,
    )
    payment_complete(payment_id=payment.pk, tx_hash="0x" + "7c" * 32)
    credits_grant(
        organization=org,
        amount_micros=5_000_000,
        kind=EntryKind.ADJUSTMENT,
        description="welcome credits",
    )
    return org, keys


def check(page, name: str, shots: Path, *, phone: bool = True) -> list[str]:
    problems = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        if label == "phone" and not phone:
            continue
        page.set_viewport_size(size)
        results = Axe().run(page)
        for v in results.response["violations"]:
            if v["impact"] in BLOCKING:
                targets = [n["target"] for n in v["nodes"]][:3]
                problems.append(
                    f"{name} ({label}): {v['id']} [{v['impact']}] {v['help']} at {targets}"
                )
        page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    return problems


def test_every_page_is_accessible(page, live_url, shots):
    problems: list[str] = []
    for name, url in (
        ("sign-in", "/signin"),
        ("sign-up", "/signup"),
        ("password-reset", "/password-reset"),
    ):
        page.goto(url)
        problems += check(page, name, shots, phone=name == "sign-in")

    _org, keys = populate()
    sign_in(page, live_url, "alice")
    pages = [
        ("overview", "/"),
        ("keys", "/keys/"),
        ("key-create", "/keys/new"),
        ("key", f"/keys/{keys[0].pk}/"),
        ("key-regenerate", f"/keys/{keys[0].pk}/regenerate"),
        ("key-revoke", f"/keys/{keys[0].pk}/revoke"),
        ("billing", "/billing/"),
        ("members", "/members/"),
        ("not-found", "/keys/00000000-0000-0000-0000-000000000000/"),
    ]
    for name, url in pages:
        page.goto(url)
        problems += check(page, name, shots, phone=name in {"overview", "keys", "key-create"})

    # The form back with its errors, and the key shown once.
    page.goto("/keys/new")
    page.get_by_role("button", name="Create key").click()
    problems += check(page, "key-create-errors", shots, phone=False)
    page.get_by_label("Name").fill("Analytics export")
    page.get_by_label("embeddings:read").check()
    page.get_by_role("button", name="Create key").click()
    page.locator("#full-key").wait_for()
    problems += check(page, "key-created", shots)
    assert problems == []
