"""What a SIWE sign-in costs the database, counted exactly so that it cannot creep
back up. The wallet's account is looked up once (before the nonce is spent) and
reused; the key cap is counted under the organization's lock, once.

In these tests every transaction.atomic is a savepoint inside the test's own
transaction, so BEGIN/COMMIT are counted as SAVEPOINT/RELEASE; the counts are
the same as in production.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import User
from apikeys.models import APIKey
from tests.wallet.helpers import VERIFY_URL, login, proof, signed_body


def sign_in(api, body):
    response = api.post(VERIFY_URL, body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.mark.django_db
def test_returning_wallet_below_the_cap_costs_eight_queries(api, wallet, django_assert_num_queries):
    sign_in(api, signed_body(api, wallet))
    body = signed_body(api, wallet)
    # 1 the account (its ownership, with user and organization), 2 a sign-in
    # key to retire if at the cap (before the nonce is spent); then 3 BEGIN,
    # 4 lock the organization, 5 count its active keys, 6 the key, 7 its
    # audit event, 8 COMMIT.
    with django_assert_num_queries(8):
        assert sign_in(api, body)["isNewAccount"] is False
    assert APIKey.objects.active().count() == 2


@pytest.mark.django_db
@override_settings(API_KEY_MAX_ACTIVE=2)
def test_returning_wallet_at_the_cap_costs_fifteen_queries(api, wallet, django_assert_num_queries):
    for _ in range(2):
        sign_in(api, signed_body(api, wallet))
    body = signed_body(api, wallet)
    # The eight above, plus: the oldest sign-in key; its savepoint, row lock,
    # revocation, audit event and release; and the count again.
    with django_assert_num_queries(15):
        sign_in(api, body)
    assert APIKey.objects.active().count() == 2
    assert APIKey.objects.filter(revoked_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_returning_wallet_headless_key_costs_eight_queries(api, wallet, django_assert_num_queries):
    sign_in(api, signed_body(api, wallet))
    body = proof(wallet)
    # The account, the cap (a count), then the same six as a sign-in.
    with django_assert_num_queries(8):
        assert api.post("/api/v1/api-keys", body, format="json").status_code == 201


@pytest.mark.django_db
def test_returning_wallet_browser_login_costs_seven_queries(wallet, django_assert_num_queries):
    browser = APIClient(enforce_csrf_checks=True)
    assert login(browser, signed_body(browser, wallet)).status_code == 200
    body = signed_body(browser, wallet)
    # The account (before the nonce is spent), the user still active (after),
    # then Django's login: the session read, last_login, and the session saved
    # in a savepoint.
    with django_assert_num_queries(7) as captured:
        assert login(browser, body).status_code == 200
    lookups = [q for q in captured.captured_queries if "accounts_membership" in q["sql"]]
    assert len(lookups) == 1
    assert User.objects.count() == 1
