"""The ledger cannot be rewritten, and a balance cannot drift from it, even by SQL.

PostgreSQL only (SQLite, the development default, keeps the model-level guards):

- `billing_ledger_append_only`: UPDATE or DELETE of a ledger row is refused
  (TRUNCATE, which only an owner may run and which the test runner uses to
  empty tables, is not a row change and is not refused).
- `billing_ledger_chain`: a new ledger row must continue its organization's
  chain: balance_after = the previous row's balance_after + amount.
- `billing_balance_matches_ledger`: at commit, an account's balance must equal
  its newest ledger row's balance_after (0 without rows). A balance changed
  without the matching ledger row in the same transaction is refused, so the
  only way to move money is the services' conditional UPDATE plus its row.

Errors use SQLSTATE class 23 (integrity), so Django raises IntegrityError.
"""

from django.db import migrations

from config.migration_ops import postgresql_only

FORWARD = r"""
CREATE FUNCTION billing_ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'billing_ledgerentry is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER billing_ledger_append_only
    BEFORE UPDATE OR DELETE ON billing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_refuse_change();

CREATE FUNCTION billing_ledger_check_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous bigint;
BEGIN
    SELECT balance_after_micros INTO previous FROM billing_ledgerentry
        WHERE organization_id = NEW.organization_id ORDER BY id DESC LIMIT 1;
    IF COALESCE(previous, 0) + NEW.amount_micros <> NEW.balance_after_micros THEN
        RAISE EXCEPTION 'ledger row does not continue the chain: % + % <> %',
            COALESCE(previous, 0), NEW.amount_micros, NEW.balance_after_micros
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER billing_ledger_chain
    BEFORE INSERT ON billing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_check_chain();

CREATE FUNCTION billing_balance_check_ledger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    current_balance bigint;
    ledger_balance bigint;
BEGIN
    -- Deferred to commit: read the committed-to-be state, not the row as it was
    -- when this event fired (a transaction may move the same balance twice).
    SELECT balance_micros INTO current_balance FROM billing_creditaccount
        WHERE organization_id = NEW.organization_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT balance_after_micros INTO ledger_balance FROM billing_ledgerentry
        WHERE organization_id = NEW.organization_id ORDER BY id DESC LIMIT 1;
    IF current_balance <> COALESCE(ledger_balance, 0) THEN
        RAISE EXCEPTION 'balance % of organization % does not match its ledger (%)',
            current_balance, NEW.organization_id, COALESCE(ledger_balance, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER billing_balance_matches_ledger
    AFTER INSERT OR UPDATE ON billing_creditaccount
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_balance_check_ledger();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_balance_matches_ledger ON billing_creditaccount;
DROP FUNCTION IF EXISTS billing_balance_check_ledger();
DROP TRIGGER IF EXISTS billing_ledger_chain ON billing_ledgerentry;
DROP FUNCTION IF EXISTS billing_ledger_check_chain();
DROP TRIGGER IF EXISTS billing_ledger_append_only ON billing_ledgerentry;
DROP FUNCTION IF EXISTS billing_ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
    ]

    operations = [postgresql_only(FORWARD, BACKWARD)]
