"""Payment records in the admin: listed and shown to operators, never edited."""

import pytest

from accounts.models import User
from billing.models import Payment, PaymentKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(org):
    return Payment.objects.create(
        kind=PaymentKind.TOPUP,
        x402_version=2,
        network="eip155:8453",
        payer="0x" + "ab" * 20,
        nonce="0x" + "01" * 32,
        asset="0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        pay_to="0x" + "ef" * 20,
        amount_atomic=10_000_000,
        credit_micros=10_000_000,
        organization=org,
        tx_hash="0x" + "12" * 32,
    )


@pytest.fixture
def operator(client):
    client.force_login(User.objects.create_superuser(username="op", password="pw-op-long"))


def test_payments_are_listed_and_shown(client, operator, payment):
    listing = client.get("/admin/billing/payment/")
    assert listing.status_code == 200
    assert payment.payer.encode() in listing.content
    assert payment.tx_hash.encode() in listing.content

    detail = client.get(f"/admin/billing/payment/{payment.pk}/change/")
    assert detail.status_code == 200
    assert payment.nonce.encode() in detail.content
    assert b'name="_save"' not in detail.content  # read-only: no save button


def test_payments_cannot_be_added_changed_or_deleted(client, operator, payment):
    assert client.get("/admin/billing/payment/add/").status_code == 403
    changed = client.post(
        f"/admin/billing/payment/{payment.pk}/change/", {"amount_atomic": "1", "status": "failed"}
    )
    assert changed.status_code == 403
    assert (
        client.post(f"/admin/billing/payment/{payment.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    payment.refresh_from_db()
    assert (payment.amount_atomic, payment.status) == (10_000_000, "reserved")
