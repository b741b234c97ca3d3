"""A new key and its "created" audit event inserted under the organization's cap of
active keys in one PostgreSQL statement, hence one round trip in autocommit.

The ORM path (apikeys.services.apikey_create) takes six round trips for the same
work: BEGIN, the organization's row lock, the count, the key, the event, COMMIT.
Here the lock and the count run inside apikeys_active_count_locked (migration
0003: the count must start after the lock is held) and the two INSERTs are
data-modifying CTEs of the same statement, made only when the count left room.
The lock is the ORM path's lock, so the two paths serialise with each other and
the cap holds across both. Anything else (retiring a key at the cap, SQLite)
stays on the ORM path.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import datetime

from django.db import connection, transaction

from accounts.models import Organization
from apikeys.models import APIKey, EventAction

CREATE_SQL = """
    WITH room AS (
        SELECT apikeys_active_count_locked(%(org)s, %(now)s) AS active
    ), created AS (
        INSERT INTO apikeys_apikey (id, organization_id, created_by_id, name, environment,
            permissions, rate_limit, allowed_ips, digest, hint, expires_at, created_at)
        SELECT %(id)s, %(org)s, %(created_by)s, %(name)s, %(environment)s,
            %(permissions)s::jsonb, %(rate_limit)s, %(allowed_ips)s::jsonb, %(digest)s,
            %(hint)s, %(expires_at)s, %(now)s
        FROM room WHERE room.active < %(cap)s
        RETURNING id, organization_id
    ), audited AS (
        INSERT INTO apikeys_apikeyevent (key_id, organization_id, action, actor_id,
            actor_key_id, ip, details, created_at)
        SELECT id, organization_id, %(action)s, %(actor)s, %(actor_key)s, %(ip)s::inet,
            %(details)s::jsonb, %(now)s
        FROM created
    )
    SELECT room.active, EXISTS (SELECT 1 FROM created) FROM room
"""


def available() -> bool:
    return connection.vendor == "postgresql"


def insert_under_cap(
    key: APIKey,
    *,
    cap: int,
    now: datetime,
    actor_id: object,
    actor_key_id: object,
    ip: str | None,
    details: dict,
) -> int | None:
    """Insert `key` (unsaved, every column set) and its audit event if the
    organization has fewer than `cap` active keys: None when inserted (the
    instance is then saved), else the number of active keys. Raises
    Organization.DoesNotExist as the ORM's lock would."""
    params = {
        "org": key.organization_id,
        "now": now,
        "id": key.id,
        "created_by": key.created_by_id,
        "name": key.name,
        "environment": key.environment,
        "permissions": json.dumps(key.permissions),
        "rate_limit": key.rate_limit,
        "allowed_ips": json.dumps(key.allowed_ips),
        "digest": key.digest,
        "hint": key.hint,
        "expires_at": key.expires_at,
        "cap": cap,
        "action": EventAction.CREATED.value,
        "actor": actor_id,
        "actor_key": actor_key_id,
        "ip": ip,
        "details": json.dumps(details),
    }
    # Inside a transaction, a savepoint keeps a failure from aborting the caller's
    # transaction (as the ORM path's atomic block does); alone, the statement is
    # its own transaction and needs none.
    block = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with block, connection.cursor() as cursor:
        cursor.execute(CREATE_SQL, params)
        active, inserted = cursor.fetchone()
    if active is None:
        raise Organization.DoesNotExist("Organization matching query does not exist.")
    if not inserted:
        return active
    key.created_at = now
    key._state.adding, key._state.db = False, connection.alias
    return None
