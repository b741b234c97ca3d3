"""Payment records move forward only and are never deleted (PostgreSQL trigger).

Allowed updates: status reserved -> pending/settled/failed, pending ->
settled/failed (or unchanged while a row is still open); tx_hash, settled_at,
organization and ledger_entry set once; failure_reason and updated_at free while
the row is open. Everything else (the authorization's identity and amounts, any
change to a settled or failed row) raises, whoever issues the SQL.
"""

from django.db import migrations

from config.migration_ops import postgresql_only

CREATE = r"""
CREATE OR REPLACE FUNCTION billing_payment_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'billing_payment rows are never deleted (payment %)', OLD.id;
    END IF;
    IF OLD.status IN ('settled', 'failed') THEN
        RAISE EXCEPTION 'billing_payment %: a % payment is final', OLD.id, OLD.status;
    END IF;
    IF NOT (NEW.status = OLD.status
            OR (OLD.status = 'reserved' AND NEW.status IN ('pending', 'settled', 'failed'))
            OR (OLD.status = 'pending' AND NEW.status IN ('settled', 'failed'))) THEN
        RAISE EXCEPTION 'billing_payment %: % -> % is not allowed', OLD.id, OLD.status, NEW.status;
    END IF;
    IF (NEW.id, NEW.kind, NEW.x402_version, NEW.network, NEW.payer, NEW.nonce, NEW.asset,
        NEW.pay_to, NEW.amount_atomic, NEW.credit_micros, NEW.beneficiary, NEW.resource,
        NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.kind, OLD.x402_version, OLD.network, OLD.payer, OLD.nonce, OLD.asset,
        OLD.pay_to, OLD.amount_atomic, OLD.credit_micros, OLD.beneficiary, OLD.resource,
        OLD.created_at) THEN
        RAISE EXCEPTION 'billing_payment %: what was paid never changes', OLD.id;
    END IF;
    IF (OLD.tx_hash IS NOT NULL AND NEW.tx_hash IS DISTINCT FROM OLD.tx_hash)
       OR (OLD.settled_at IS NOT NULL AND NEW.settled_at IS DISTINCT FROM OLD.settled_at)
       OR (OLD.organization_id IS NOT NULL
           AND NEW.organization_id IS DISTINCT FROM OLD.organization_id)
       OR (OLD.ledger_entry_id IS NOT NULL
           AND NEW.ledger_entry_id IS DISTINCT FROM OLD.ledger_entry_id) THEN
        RAISE EXCEPTION 'billing_payment %: tx_hash, settled_at, organization and ledger_entry are set once', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS billing_payment_forward_only ON billing_payment;
CREATE TRIGGER billing_payment_forward_only
    BEFORE UPDATE OR DELETE ON billing_payment
    FOR EACH ROW EXECUTE FUNCTION billing_payment_forward_only();
"""

DROP = r"""
DROP TRIGGER IF EXISTS billing_payment_forward_only ON billing_payment;
DROP FUNCTION IF EXISTS billing_payment_forward_only();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_payment")]

    operations = [postgresql_only(CREATE, DROP)]
