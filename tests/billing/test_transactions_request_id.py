"""A metered call's ledger row names the request id the API answered with (issue 10)."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_transactions_list_shows_a_metered_calls_request_id(api, make_key, fund, org):
    fund(org, 1_000_000)
    _, full = make_key(permissions=["chat", "billing"])
    auth = {"Authorization": f"Bearer {full}"}
    calls = [api.post("/api/v1/echo", {"message": "hi"}, format="json", headers=auth) for _ in "ab"]
    assert [r.status_code for r in calls] == [200, 200]
    answered = [r["X-Request-ID"] for r in calls]
    assert [r.json()["requestId"] for r in calls] == answered
    assert len(set(answered)) == 2

    listed = api.get("/api/v1/credits/transactions", headers=auth)
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [(row["kind"], row["requestId"]) for row in rows] == [
        ("usage", answered[1]),
        ("usage", answered[0]),
        ("topup", None),
    ]
