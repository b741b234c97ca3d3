import pytest

from accounts.models import User
from billing import services
from billing.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    op = User.objects.create_superuser(username="op", password="pw-op-long")
    client.force_login(op)
    return op


def test_admin_pages_load(client, operator, org):
    for url in (
        "/admin/accounts/organization/",
        f"/admin/accounts/organization/{org.pk}/change/",
        "/admin/accounts/user/",
        "/admin/accounts/membership/",
        "/admin/billing/ledgerentry/",
        "/admin/billing/creditaccount/",
    ):
        assert client.get(url).status_code == 200, url


def test_grant_credits_action_asks_then_grants(client, operator, org):
    url = "/admin/accounts/organization/"
    ask = client.post(url, {"action": "grant_credits", "_selected_action": [str(org.pk)]})
    assert ask.status_code == 200
    assert b"Grant credits to:" in ask.content
    assert LedgerEntry.objects.count() == 0

    done = client.post(
        url,
        {
            "action": "grant_credits",
            "_selected_action": [str(org.pk)],
            "apply": "1",
            "usd": "7.25",
            "reason": "support ticket 42",
        },
    )
    assert done.status_code == 302
    entry = LedgerEntry.objects.get()
    assert entry.amount_micros == 7_250_000
    assert entry.description == "support ticket 42"
    assert entry.metadata == {"source": "admin", "operator": "op"}
    assert services.balance_micros(organization=org) == 7_250_000


@pytest.mark.parametrize("usd", ["-1", "0", "1.0000001", "lots"])
def test_grant_credits_action_rejects_bad_amounts(client, operator, org, usd):
    r = client.post(
        "/admin/accounts/organization/",
        {
            "action": "grant_credits",
            "_selected_action": [str(org.pk)],
            "apply": "1",
            "usd": usd,
            "reason": "x",
        },
    )
    assert r.status_code == 200
    assert b"errorlist" in r.content
    assert LedgerEntry.objects.count() == 0


def test_ledger_is_read_only_even_for_superusers(client, operator, org):
    entry = services.credits_grant(organization=org, amount_micros=1).entry
    assert client.get("/admin/billing/ledgerentry/add/").status_code == 403
    assert client.get(f"/admin/billing/ledgerentry/{entry.pk}/delete/").status_code == 403
    change = client.post(f"/admin/billing/ledgerentry/{entry.pk}/change/", {"amount_micros": "999"})
    assert change.status_code == 403
    assert LedgerEntry.objects.get().amount_micros == 1
    assert client.get("/admin/billing/creditaccount/add/").status_code == 403


def test_admin_created_organization_gets_a_credit_account(client, operator):
    r = client.post(
        "/admin/accounts/organization/add/",
        {
            "name": "Made In Admin",
            "slug": "made-in-admin",
            "plan": "pro",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert r.status_code == 302
    from accounts.models import Organization

    org = Organization.objects.get(slug="made-in-admin")
    assert services.balance_micros(organization=org) == 0
    assert org.credit_account.balance_micros == 0


def test_operator_changes_the_plan_and_the_key_limit_follows(
    client, operator, org, django_capture_on_commit_callbacks
):
    from apikeys.check import apikey_verify
    from apikeys.services import apikey_create

    _, full = apikey_create(organization=org, name="plan follower")
    assert apikey_verify(full).rate.limit == 60  # free plan; the key is cached now
    url = f"/admin/accounts/organization/{org.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    inlines = {
        f"{fs.formset.prefix}-{name}": value
        for fs in page.context["inline_admin_formsets"]
        for name, value in (
            ("TOTAL_FORMS", "0"),
            ("INITIAL_FORMS", "0"),
            ("MIN_NUM_FORMS", "0"),
            ("MAX_NUM_FORMS", "1000"),
        )
    }

    def change(plan, custom=""):
        form = {"name": "Acme", "slug": "acme", "plan": plan, "custom_rate_limit": custom}
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(url, {**form, **inlines})
        assert r.status_code == 302, r.context and r.context["adminform"].form.errors

    change("pro")
    org.refresh_from_db()
    assert org.plan == "pro"
    assert apikey_verify(full).rate.limit == 300
    change("enterprise", "5000")
    assert apikey_verify(full).rate.limit == 5000
    change("free")
    assert apikey_verify(full).rate.limit == 60
