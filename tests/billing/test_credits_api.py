import pytest

from billing.models import EntryKind
from billing.services import credits_debit, credits_grant

pytestmark = pytest.mark.django_db


def get(api, path, key):
    return api.get(path, headers={"Authorization": f"Bearer {key}"})


def test_balance(api, make_key, fund, org):
    fund(org, 5_000_000)
    _, full = make_key(permissions=["billing"])
    r = get(api, "/api/v1/credits", full)
    assert r.status_code == 200
    assert r.json() == {"balance": "5.000000", "currency": "USD", "organizationId": str(org.id)}


def test_balance_of_a_new_organization_is_zero(api, make_key, org):
    _, full = make_key()  # no permissions listed: every permission
    assert get(api, "/api/v1/credits", full).json()["balance"] == "0.000000"


@pytest.mark.parametrize("path", ["/api/v1/credits", "/api/v1/credits/transactions"])
def test_billing_permission_is_required(api, make_key, path):
    _, full = make_key(permissions=["chat", "keys"])
    r = get(api, path, full)
    assert r.status_code == 403
    assert r.json() == {"error": {"code": "FORBIDDEN", "message": "Insufficient permissions"}}


@pytest.mark.parametrize("path", ["/api/v1/credits", "/api/v1/credits/transactions"])
def test_credentials_are_required(api, path):
    r = api.get(path)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "UNAUTHORIZED"


def test_transactions_newest_first_with_decimal_strings(api, make_key, org, other_org):
    first = credits_grant(
        organization=org,
        amount_micros=5_000_000,
        kind=EntryKind.SIGNUP_BONUS,
        reference="signup:1",
        description="Welcome",
    ).entry
    second = credits_debit(organization=org, amount_micros=2_500, reference="req:1").entry
    credits_grant(organization=other_org, amount_micros=7, reference="other:1")
    _, full = make_key(permissions=["billing"])
    r = get(api, "/api/v1/credits/transactions", full)
    assert r.status_code == 200
    body = r.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert body["results"] == [
        {
            "id": second.id,
            "kind": "usage",
            "amount": "-0.002500",
            "balanceAfter": "4.997500",
            "reference": "req:1",
            "requestId": None,
            "description": "",
            "createdAt": second.created_at.isoformat().replace("+00:00", "Z"),
        },
        {
            "id": first.id,
            "kind": "signup_bonus",
            "amount": "5.000000",
            "balanceAfter": "5.000000",
            "reference": "signup:1",
            "requestId": None,
            "description": "Welcome",
            "createdAt": first.created_at.isoformat().replace("+00:00", "Z"),
        },
    ]


def test_transactions_are_paginated(api, make_key, org):
    for i in range(5):
        credits_grant(organization=org, amount_micros=i + 1, reference=f"t:{i}")
    _, full = make_key(permissions=["billing"])
    r = get(api, "/api/v1/credits/transactions?pageSize=2&page=2", full)
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 5
    assert [row["amount"] for row in body["results"]] == ["0.000003", "0.000002"]
    assert body["next"].endswith("page=3&pageSize=2")
    assert "page=" not in body["previous"] or body["previous"].endswith("pageSize=2")
    r = get(api, "/api/v1/credits/transactions?page=9", full)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("value", ["abc", "null", "0", "000", "-1", "2.5", "", "%C2%B2"])
def test_a_page_size_that_is_not_a_positive_integer_is_400(api, make_key, value):
    _, full = make_key(permissions=["billing"])
    r = get(api, f"/api/v1/credits/transactions?pageSize={value}", full)
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "Invalid request.",
            "details": {"fields": {"pageSize": ["Must be a whole number from 1 to 200."]}},
        }
    }


def test_a_page_size_over_the_cap_is_capped(api, make_key, org):
    for i in range(3):
        credits_grant(organization=org, amount_micros=i + 1, reference=f"t:{i}")
    _, full = make_key(permissions=["billing"])
    for size in ("100000", "9" * 5000, "0002"):
        r = get(api, f"/api/v1/credits/transactions?pageSize={size}", full)
        assert r.status_code == 200
        assert r.json()["count"] == 3
        assert len(r.json()["results"]) == (2 if size == "0002" else 3)


@pytest.mark.parametrize("query", ["pageSize=2&pageSize=3", "page=1&page=1"])
def test_a_repeated_paging_parameter_is_400(api, make_key, query):
    _, full = make_key(permissions=["billing"])
    r = get(api, f"/api/v1/credits/transactions?{query}", full)
    assert r.status_code == 400
    name = query.split("=", 1)[0]
    assert r.json()["error"]["details"] == {"fields": {name: ["Give it once."]}}
