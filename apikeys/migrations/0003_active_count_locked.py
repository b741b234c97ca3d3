"""apikeys_active_count_locked(org, now): lock the organization's row, then count
its active keys (PostgreSQL only; apikeys.capped uses it).

A function, because its two statements must run in this order inside one SQL
statement sent by the client: the count takes its snapshot after the lock is
held, so it sees every key committed by a creation it waited for. (A count in
the locking statement itself would use the snapshot taken before the wait.)
A VOLATILE PL/pgSQL function takes a fresh snapshot for each statement it runs.
"""

from django.db import migrations

from config.migration_ops import postgresql_only

CREATE = r"""
CREATE OR REPLACE FUNCTION apikeys_active_count_locked(org uuid, now timestamptz)
RETURNS integer AS $$
DECLARE
    active integer;
BEGIN
    PERFORM 1 FROM accounts_organization WHERE id = org FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- APIKeyQuerySet.active(): not revoked, not expired.
    SELECT count(*) INTO active FROM apikeys_apikey
    WHERE organization_id = org AND revoked_at IS NULL AND expires_at > now;
    RETURN active;
END;
$$ LANGUAGE plpgsql VOLATILE;
"""

DROP = "DROP FUNCTION IF EXISTS apikeys_active_count_locked(uuid, timestamptz);"


class Migration(migrations.Migration):
    dependencies = [("apikeys", "0002_key_usage_day"), ("accounts", "0001_initial")]

    operations = [postgresql_only(CREATE, DROP)]
