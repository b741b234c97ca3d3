"""The Billing page's payments list and its top-up buttons (the browser side is
tests/browser/test_x402_topup.py): an organization sees its own x402 payments,
newest first, in a bounded number of queries, and the buttons only where the
server takes payments."""

from __future__ import annotations

import re
import secrets

import pytest

from billing.models import LedgerEntry, Payment, PaymentKind, PaymentStatus
from billing.payments import payment_complete, payment_mark_pending
from billing.selectors import RECENT_PAYMENTS

pytestmark = pytest.mark.django_db

PAYER = "0x" + "Ab" * 20
RECIPIENT = "0x" + "ef" * 20
NETWORK = "eip155:84532"


def paid(org, usd: int, *, settle: bool = True) -> Payment:
    """A top-up reserved for `org` and, unless told otherwise, settled and
    credited by the service (billing.payments.payment_complete)."""
    payment = Payment.objects.create(
        kind=PaymentKind.TOPUP,
        x402_version=2,
        network=NETWORK,
        payer=PAYER,
        nonce="0x" + secrets.token_hex(32),
        asset="0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        pay_to=RECIPIENT,
        amount_atomic=usd * 10**6,
        credit_micros=usd * 10**6,
        organization=org,
    )
    tx = "0x" + secrets.token_hex(32)
    if settle:
        payment, _ = payment_complete(payment_id=payment.pk, tx_hash=tx)
    else:
        payment = payment_mark_pending(payment_id=payment.pk, tx_hash=tx, reason="not mined")
    return payment


def payment_rows(html: str) -> list[str]:
    section = html.split('<h2 id="payments-title">', 1)[1].split("</section>", 1)[0]
    return re.findall(r"<tr><td>.*?</tr>", section, flags=re.S)


@pytest.fixture
def payments_on(settings):
    settings.X402_PAY_TO = RECIPIENT
    settings.X402_FACILITATOR_URL = "https://facilitator.example"
    settings.TOPUP_AMOUNTS_USD = [10, 50, 100]


def test_the_billing_page_lists_the_organizations_payments_newest_first(
    owner_client, org, other_org
):
    first = paid(org, 10)
    pending = paid(org, 50, settle=False)
    theirs = paid(other_org, 100)

    response = owner_client.get("/billing/")

    assert response.status_code == 200
    html = response.content.decode()
    rows = payment_rows(html)
    assert len(rows) == 2
    newest, oldest = rows
    assert "<td>Pending (sent, not confirmed)</td>" in newest
    assert '<td class="num">50.000000</td>' in newest
    assert f'<code class="small hash">{pending.tx_hash}</code>' in newest
    assert '<td><code class="small hash"></code></td></tr>' in newest  # not credited yet
    assert "<td>Settled</td>" in oldest
    assert '<td class="num">10.000000</td>' in oldest
    assert f'<code class="small hash">{PAYER}</code>' in oldest
    assert f"<td>{NETWORK}</td>" in oldest
    assert f'<code class="small hash">{first.tx_hash}</code>' in oldest
    assert f'<code class="small hash">x402:{first.pk}</code>' in oldest
    assert LedgerEntry.objects.get(organization=org).reference == f"x402:{first.pk}"
    assert str(theirs.pk) not in html and theirs.tx_hash not in html
    assert "<span data-x402-balance>10.000000</span> USD" in html


def test_no_payments_is_said_so(owner_client):
    html = owner_client.get("/billing/").content.decode()
    assert '<p class="muted">No payments yet.</p>' in html
    assert payment_rows(html) == []


def test_the_top_up_buttons_are_there_when_payments_are_configured(owner_client, payments_on):
    response = owner_client.get("/billing/")

    assert response.status_code == 200
    html = response.content.decode()
    buttons = re.findall(r'<button type="button" data-x402-topup="(\d+)">([^<]*)</button>', html)
    assert buttons == [("10", "Top up 10 USD"), ("50", "Top up 50 USD"), ("100", "Top up 100 USD")]
    assert '<script src="/static/js/x402-topup.js" defer></script>' in html
    assert '<p class="error" data-x402-error role="alert"></p>' in html
    assert '<p data-x402-status role="status"></p>' in html
    assert "manage.py grant_credits" in html  # the explanation stays
    assert "Payments are not enabled on this server" not in html


def test_the_buttons_follow_the_configured_amounts(owner_client, payments_on, settings):
    settings.TOPUP_AMOUNTS_USD = [5, 25]
    html = owner_client.get("/billing/").content.decode()
    assert re.findall(r'data-x402-topup="(\d+)"', html) == ["5", "25"]
    # The explanation names the same amounts, with or without the buttons.
    assert "with a payment header, for 5, 25 USD)" in html
    settings.X402_PAY_TO = ""
    html = owner_client.get("/billing/").content.decode()
    assert "data-x402-topup" not in html and "with a payment header, for 5, 25 USD)" in html


@pytest.mark.parametrize(
    "unset",
    [
        {"X402_PAY_TO": ""},  # no recipient: the top-up answers 503
        {"X402_FACILITATOR_URL": ""},  # no facilitator at all: 503 as well
    ],
)
def test_no_buttons_where_payments_are_not_configured(owner_client, payments_on, settings, unset):
    settings.X402_FACILITATOR_PRIVATE_KEY = ""
    settings.X402_RPC_URL = ""
    for name, value in unset.items():
        setattr(settings, name, value)

    response = owner_client.get("/billing/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "data-x402-topup" not in html and "x402-topup.js" not in html
    assert "data-x402-error" not in html
    assert "Payments are not enabled on this server" in html
    assert "manage.py grant_credits" in html


def test_the_in_process_facilitator_counts_as_configured(owner_client, payments_on, settings):
    settings.X402_FACILITATOR_URL = ""
    settings.X402_FACILITATOR_PRIVATE_KEY = "0x" + "01" * 32
    settings.X402_RPC_URL = "http://127.0.0.1:8545"
    assert 'data-x402-topup="10"' in owner_client.get("/billing/").content.decode()
    settings.X402_RPC_URL = ""
    assert "data-x402-topup" not in owner_client.get("/billing/").content.decode()


def test_a_member_sees_no_payments(member_client, org):
    paid(org, 10)
    assert member_client.get("/billing/").status_code == 403


def test_the_billing_page_with_many_payments_is_a_bounded_number_of_queries(
    owner_client, org, payments_on, django_assert_max_num_queries
):
    made = [paid(org, 10) for _ in range(RECENT_PAYMENTS + 5)]
    owner_client.get("/billing/")
    with django_assert_max_num_queries(7):
        response = owner_client.get("/billing/")
    rows = payment_rows(response.content.decode())
    assert len(rows) == RECENT_PAYMENTS == 20
    newest = sorted(made, key=lambda p: p.created_at, reverse=True)[:RECENT_PAYMENTS]
    assert [re.search(r"x402:([0-9a-f-]{36})", row).group(1) for row in rows] == [
        str(p.pk) for p in newest
    ]
    assert Payment.objects.filter(organization=org, status=PaymentStatus.SETTLED).count() == 25
