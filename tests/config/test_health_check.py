"""The PostgreSQL health check (config/postgresql): an idle connection the server
has said nothing on is found usable without a message to the server; a connection
the server ended, or one with anything waiting on it, goes through Django's own
SELECT 1, and the next request gets a new connection."""

from __future__ import annotations

import tempfile
import time

import psycopg
import pytest
from django.db import connection, connections

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def server(sql: str, params: list) -> None:
    """A statement from a connection of its own (not the one under test)."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        other.execute(sql, params)


def sent_by(check) -> tuple[bool, str]:
    """What `check()` answered and the protocol messages it sent (libpq's trace)."""
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile(mode="w+") as trace:
        pgconn.trace(trace.fileno())
        try:
            answer = check()
        finally:
            pgconn.untrace()
        trace.seek(0)
        return answer, trace.read()


def test_the_backend_is_ours():
    assert connections["default"].vendor == "postgresql"
    assert type(connections["default"]).__module__ == "config.postgresql.base"


def test_an_idle_connection_is_usable_without_a_round_trip():
    backend_pid()
    assert connection.connection.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    usable, trace = sent_by(connection.is_usable)
    assert usable is True
    assert trace == ""
    # The trace does see a statement: the check above would have shown its SELECT 1.
    _, traced = sent_by(backend_pid)
    assert "pg_backend_pid" in traced


def test_anything_waiting_on_the_socket_gets_djangos_select_1():
    backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN gatehouse_health_probe")
    server("SELECT pg_notify('gatehouse_health_probe', 'x')", [])
    deadline = time.monotonic() + 5
    usable, trace = False, ""
    while time.monotonic() < deadline and "SELECT 1" not in trace:
        usable, trace = sent_by(connection.is_usable)
        time.sleep(0.01)
    assert usable is True
    assert "SELECT 1" in trace
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")


def test_a_connection_the_server_ended_is_replaced_before_the_next_request():
    before = backend_pid()
    server("SELECT pg_terminate_backend(%s)", [before])
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connection.is_usable() is False
    # What Django does between requests, then the next request's first query.
    connection.close_if_unusable_or_obsolete()
    after = backend_pid()
    assert after != before
    assert connection.is_usable() is True
