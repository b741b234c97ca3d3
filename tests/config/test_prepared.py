"""On PostgreSQL a statement a connection has run five times is prepared
(DB_PREPARED_STATEMENTS, on by default): planned once, then only executed."""

import uuid

import pytest
from django.db import connection

from accounts.selectors import wallet_account_find_with
from apikeys.selectors import key_room_annotations

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]


def prepared(marker: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{marker}%"],
        )
        return cursor.fetchone()[0]


def test_the_sign_in_lookup_is_prepared_once_it_has_run_five_times():
    # A name no other test's statement has, so that only this test's runs count
    # (the connection, and its prepared statements, outlive a test).
    marker = f"probe_{uuid.uuid4().hex}"
    address = "0x" + uuid.uuid4().hex[:20] * 2

    def look_up():
        # A fresh "now" each time: the parameters change, the statement does not.
        # (the statement names each value: the marker is the last one's alias).
        room = key_room_annotations(replaceable_name="SIWE sign-in")
        room[marker] = room["keys_active"]
        assert wallet_account_find_with(address=address, annotate=room) == (None, {})

    for _ in range(5):
        look_up()
    assert prepared(marker) == 0
    look_up()
    assert prepared(marker) == 1
