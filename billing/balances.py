"""An organization's balance in the shared cache, exact as of the last committed
ledger change.

The remote verify endpoint answers with the balance on every call; reading it
from PostgreSQL cost two round trips (the connection's health check and the
query). Instead, every movement publishes the balance it left, after its commit,
versioned by its ledger row's id, and a reader that finds nothing fills the entry
from the database with the newest ledger id it saw. Movements of one organization
are serialised by the account's row lock, so their ledger ids grow in commit
order; the cache keeps the entry with the highest id (config.cache.set_if_newer),
so publications arriving out of order, or a fill racing a movement, can never
leave an older balance behind a newer one.

Only on Redis: with another cache backend (the local development server) the
balance is read from the database every time.
"""

from __future__ import annotations

import logging
import uuid

from django.db import connection

from billing.models import CreditAccount
from config import cache as shared_cache

logger = logging.getLogger("gatehouse.billing")

TIMEOUT = 3600  # an entry that is never refreshed is read again from the database hourly


def balance_key(organization_id: uuid.UUID | str) -> str:
    return f"billing:balance:{organization_id}"


def from_raw(raw: bytes | None) -> int | None:
    """The balance in a raw cache entry read with the key records, else None."""
    entry = shared_cache.versioned(raw)
    return None if entry is None else int(entry[1])


def publish(organization_id: uuid.UUID, balance_micros: int, ledger_id: int) -> None:
    """After a committed movement: the balance it left, versioned by its ledger row."""
    if shared_cache.redis_client() is None:
        return
    try:
        shared_cache.set_if_newer(
            balance_key(organization_id), ledger_id, str(balance_micros), TIMEOUT
        )
    except Exception:
        # Readers would keep an older balance until the entry expires: say so loudly
        # and try to drop it, so that they read the database instead.
        logger.exception("Could not publish the balance of %s", organization_id)
        shared_cache.forget(balance_key(organization_id))


def balance_read(organization_id: uuid.UUID) -> int:
    """The balance from the database, published for the next reader (Redis only)."""
    if connection.vendor != "postgresql" or shared_cache.redis_client() is None:
        account = CreditAccount.objects.filter(pk=organization_id).only("balance_micros").first()
        return account.balance_micros if account else 0
    # One statement, one snapshot: the balance and the newest ledger row behind it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.balance_micros, (SELECT coalesce(max(l.id), 0) FROM billing_ledgerentry l"
            " WHERE l.organization_id = a.organization_id)"
            " FROM billing_creditaccount a WHERE a.organization_id = %s",
            [organization_id],
        )
        row = cursor.fetchone()
    if row is None:
        return 0
    balance, ledger_id = row
    if not connection.in_atomic_block:
        # Inside a transaction the read may include its own uncommitted movements.
        publish(organization_id, balance, ledger_id)
    return balance
