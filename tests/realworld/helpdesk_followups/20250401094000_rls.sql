-- Migration: Tenant isolation
ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tickets
    USING (account_id = current_setting('app.account_id', true)::bigint);
ALTER POLICY tenant_isolation ON tickets TO helpdesk_reporting;
REVOKE SELECT ON open_tickets FROM helpdesk_reporting;
COMMENT ON COLUMN tickets.requester_email IS 'Who wrote in';
COMMENT ON TABLE tickets IS NULL;
