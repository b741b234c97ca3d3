import pytest

from billing.models import EntryKind, LedgerEntry
from billing.services import balance_micros

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.billing.urls")]


def echo(api, key, body=None, **headers):
    return api.post(
        "/api/v1/echo",
        {"message": "hi"} if body is None else body,
        format="json",
        headers={"Authorization": f"Bearer {key}", **headers},
    )


def usage_rows(org):
    return list(LedgerEntry.objects.filter(organization=org).exclude(kind=EntryKind.TOPUP))


def test_echo_debits_its_price_once_with_a_unique_reference(api, make_key, fund, org):
    fund(org, 1_000_000)
    key, full = make_key(permissions=["chat"])
    r = echo(api, full, **{"X-Request-ID": "abc-12345"})
    assert r.status_code == 200
    assert r.json() == {"message": "hi", "charged": "0.001000", "requestId": "abc-12345"}
    assert balance_micros(organization=org) == 999_000
    [row] = usage_rows(org)
    assert (row.kind, row.amount_micros, row.balance_after_micros) == ("usage", -1000, 999_000)
    assert row.reference.startswith("req:")
    assert row.metadata["requestId"] == "abc-12345"
    assert row.metadata["keyId"] == str(key.id)
    assert row.description == "POST /api/v1/echo"


def test_a_repeated_request_id_is_charged_again(api, make_key, fund, org):
    """X-Request-ID comes from the client; it must not turn a call into a free replay."""
    fund(org, 1_000_000)
    _, full = make_key(permissions=["chat:write"])
    for _ in range(2):
        assert echo(api, full, **{"X-Request-ID": "same-id-123"}).status_code == 200
    assert balance_micros(organization=org) == 998_000
    assert len({row.reference for row in usage_rows(org)}) == 2


def test_insufficient_credits_is_402_and_changes_nothing(api, make_key, fund, org):
    fund(org, 500)
    _, full = make_key(permissions=["chat"])
    r = echo(api, full)
    assert r.status_code == 402
    assert r.json() == {
        "error": {
            "code": "INSUFFICIENT_CREDITS",
            "message": "Insufficient credits for this request.",
            "details": {"balance": "0.000500", "price": "0.001000"},
        }
    }
    assert balance_micros(organization=org) == 500
    assert usage_rows(org) == []


def test_test_environment_keys_are_never_charged(api, make_key, org):
    _, full = make_key(environment="test", permissions=["chat"])
    r = echo(api, full)
    assert r.status_code == 200
    assert r.json()["charged"] == "0.000000"
    assert balance_micros(organization=org) == 0
    assert usage_rows(org) == []


def test_price_comes_from_the_setting_per_call(api, make_key, fund, org, settings):
    fund(org, 1_000_000)
    _, full = make_key()
    settings.ECHO_PRICE_USD = "0.25"
    assert echo(api, full).json()["charged"] == "0.250000"
    settings.ECHO_PRICE_USD = "0"
    assert echo(api, full).json()["charged"] == "0.000000"
    assert balance_micros(organization=org) == 750_000
    assert len(usage_rows(org)) == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"message": 5}, {"message": ["hi"]}, {"message": None}, {"message": "x" * 1001}, ["hi"]],
)
def test_bad_input_is_400_and_not_charged(api, make_key, fund, org, body):
    fund(org, 1_000_000)
    _, full = make_key()
    r = echo(api, full, body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert balance_micros(organization=org) == 1_000_000
    assert usage_rows(org) == []


def test_a_key_without_the_permission_is_403_and_not_charged(api, make_key, fund, org):
    fund(org, 1_000_000)
    _, full = make_key(permissions=["chat:read", "billing"])
    r = echo(api, full)
    assert r.status_code == 403
    assert r.json() == {"error": {"code": "FORBIDDEN", "message": "Insufficient permissions"}}
    assert balance_micros(organization=org) == 1_000_000


def test_no_credentials_is_401(api, org):
    r = api.post("/api/v1/echo", {"message": "hi"}, format="json")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "UNAUTHORIZED"


def test_a_dashboard_session_is_charged_to_its_organization(api, user, fund, org):
    fund(org, 1_000_000)
    api.force_login(user)
    r = api.post("/api/v1/echo", {"message": "from the dashboard"}, format="json")
    assert r.status_code == 200
    assert r.json()["charged"] == "0.001000"
    assert balance_micros(organization=org) == 999_000


@pytest.mark.parametrize(
    ("how", "status", "code"),
    [
        ("crash", 500, "INTERNAL_ERROR"),
        ("unavailable", 503, "SERVICE_UNAVAILABLE"),
        ("bad-gateway", 502, None),
    ],
)
def test_a_5xx_after_the_debit_is_refunded_through_the_ledger(
    api, make_key, fund, org, how, status, code
):
    fund(org, 1_000_000)
    _, full = make_key()
    r = api.post(f"/api/test/metered/{how}", headers={"Authorization": f"Bearer {full}"})
    assert r.status_code == status
    if code:
        assert r.json()["error"]["code"] == code
    assert balance_micros(organization=org) == 1_000_000
    debit, refund = sorted(usage_rows(org), key=lambda row: row.id)
    assert (debit.kind, debit.amount_micros) == ("usage", -10_000)
    assert (refund.kind, refund.amount_micros) == ("refund", 10_000)
    assert refund.reference == f"refund:{debit.reference}"
    assert refund.balance_after_micros == 1_000_000


def test_a_4xx_after_the_debit_is_not_refunded(api, make_key, fund, org):
    """Only server failures are refunded; input errors are caught before the debit."""
    fund(org, 1_000_000)
    _, full = make_key()
    r = api.post("/api/test/metered/not-found", headers={"Authorization": f"Bearer {full}"})
    assert r.status_code == 404
    assert balance_micros(organization=org) == 990_000


def test_metered_function_view(api, make_key, fund, org):
    fund(org, 1_000_000)
    _, full = make_key()
    r = api.post("/api/test/metered-function", headers={"Authorization": f"Bearer {full}"})
    assert r.status_code == 200
    assert r.json() == {"charged": "0.250000"}
    assert balance_micros(organization=org) == 750_000


def test_a_bad_declared_price_fails_at_import():
    from billing.metering import Metered
    from config.errors import ValidationFailed

    for price in ["-1", "0.0000001", 0.5, "abc"]:
        with pytest.raises(ValidationFailed):
            Metered(price)
