"""Organizations in the admin: shown by name, and why one cannot be deleted (issue 10)."""

import re

import pytest

from accounts.models import Membership, Organization, User
from billing import services
from billing.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    op = User.objects.create_superuser(username="op", password="pw-op-long")
    client.force_login(op)
    return op


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_lists_show_the_organization_by_name(client, operator, org, user):
    services.credits_grant(organization=org, amount_micros=1_000_000, reference="t:1")
    assert (org.name, org.slug) == ("Acme", "acme")
    for url in (
        "/admin/billing/ledgerentry/",
        "/admin/billing/creditaccount/",
        "/admin/accounts/membership/",
    ):
        page = text(client.get(url))
        assert " Acme " in page, url
    assert str(Membership.objects.get()) == "alice in Acme (owner)"
    # Found by name as well as by slug.
    assert " t:1 " in text(client.get("/admin/billing/ledgerentry/", {"q": "Acme"}))
    assert " t:1 " not in text(client.get("/admin/billing/ledgerentry/", {"q": "Zenith"}))


@pytest.mark.parametrize("bulk", [False, True])
def test_deleting_an_organization_says_why_it_cannot_be(client, operator, org, make_key, bulk):
    make_key()
    services.credits_grant(organization=org, amount_micros=1_000_000, reference="t:1")
    if bulk:
        form = {"action": "delete_selected", "_selected_action": [str(org.pk)]}
        asked = client.post("/admin/accounts/organization/", form)
    else:
        asked = client.get(f"/admin/accounts/organization/{org.pk}/delete/")
    assert asked.status_code == 200
    page = text(asked)
    assert "permission" not in page
    assert (
        "An organization with a credit account, ledger entries or API keys cannot be deleted: "
        "Gatehouse keeps them, and the organization they belong to, for the audit trail."
    ) in page
    for kept in ("Credit account", "API key", "API key event"):
        assert f"{kept} (kept for the audit trail)" in page
    assert 'type="submit" value="Yes' not in asked.content.decode()

    # Posting the confirmation anyway deletes nothing.
    if bulk:
        client.post("/admin/accounts/organization/", {**form, "post": "yes"})
    else:
        client.post(f"/admin/accounts/organization/{org.pk}/delete/", {"post": "yes"})
    assert Organization.objects.filter(pk=org.pk).exists()
    assert LedgerEntry.objects.filter(organization=org).count() == 1
