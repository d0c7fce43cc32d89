-- Migration: Reporting role
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'helpdesk_reporting') THEN
        CREATE ROLE helpdesk_reporting NOLOGIN;
    END IF;
END
$$;
GRANT SELECT ON open_tickets TO helpdesk_reporting;
-- ROLLBACK BEGIN
-- REVOKE SELECT ON open_tickets FROM helpdesk_reporting;
-- ROLLBACK END
