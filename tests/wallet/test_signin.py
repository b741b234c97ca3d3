"""What a SIWE sign-in costs the database, counted exactly so that it cannot creep
back up. The wallet's account is looked up once (before the nonce is spent), with
its organization's room for another key, and reused; the key cap is counted under
the organization's lock, once.

In these tests every transaction.atomic is a savepoint inside the test's own
transaction, so BEGIN/COMMIT are counted as SAVEPOINT/RELEASE. On PostgreSQL the
key and its audit event are made by one statement (apikeys.capped), which in
production runs alone in autocommit; here it runs inside a savepoint, so its
SAVEPOINT and RELEASE are counted and production makes two round trips fewer.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import User
from apikeys.models import APIKey
from tests.wallet.helpers import VERIFY_URL, login, proof, signed_body


def sign_in(api, body):
    response = api.post(VERIFY_URL, body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@pytest.mark.django_db
def test_returning_wallet_below_the_cap(api, wallet, django_assert_num_queries):
    sign_in(api, signed_body(api, wallet))
    body = signed_body(api, wallet)
    # 1 the account (its ownership, with user and organization, its organization's
    # active keys and whether one is a sign-in key, before the nonce is spent);
    # then on PostgreSQL 2 SAVEPOINT, 3 the key and its event, 4 RELEASE; elsewhere
    # 2 BEGIN, 3 lock the organization, 4 count its active keys, 5 the key, 6 its
    # audit event, 7 COMMIT.
    with django_assert_num_queries(4 if on_postgresql() else 7) as captured:
        assert sign_in(api, body)["isNewAccount"] is False
    assert APIKey.objects.active().count() == 2
    lookups = [q for q in captured.captured_queries if "accounts_membership" in q["sql"]]
    assert len(lookups) == 1


@pytest.mark.django_db
@override_settings(API_KEY_MAX_ACTIVE=2)
def test_returning_wallet_at_the_cap(api, wallet, django_assert_num_queries):
    for _ in range(2):
        sign_in(api, signed_body(api, wallet))
    body = signed_body(api, wallet)
    # The seven of the general path above, plus: the oldest sign-in key; its
    # savepoint, row lock, revocation, audit event and release; and the count
    # again. On PostgreSQL the one statement (with its savepoint) found the cap
    # first.
    with django_assert_num_queries(17 if on_postgresql() else 14):
        sign_in(api, body)
    assert APIKey.objects.active().count() == 2
    assert APIKey.objects.filter(revoked_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_returning_wallet_headless_key(api, wallet, django_assert_num_queries):
    sign_in(api, signed_body(api, wallet))
    body = proof(wallet)
    # The account with its organization's active keys, then the same as a sign-in.
    with django_assert_num_queries(4 if on_postgresql() else 7):
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
