-- Migration: Drop the account/status index (superseded), relax constraints
DROP INDEX IF EXISTS tickets_account_status_idx;
ALTER TABLE tickets ALTER COLUMN channel DROP DEFAULT;
ALTER TABLE tickets ALTER COLUMN priority DROP NOT NULL;
ALTER TABLE sla_policies DROP CONSTRAINT sla_unique;
DROP TRIGGER tickets_set_updated_at ON tickets;
CREATE TRIGGER tickets_set_updated_at BEFORE UPDATE OF subject, status ON tickets
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
