-- Migration: open_tickets shows the channel
CREATE OR REPLACE VIEW open_tickets AS
    SELECT t.id, t.subject, a.slug AS account, t.priority, t.created_at, t.channel
    FROM tickets t JOIN accounts a ON a.id = t.account_id
    WHERE t.status IN ('new', 'open', 'pending');
-- ROLLBACK BEGIN
-- DROP VIEW open_tickets;
-- CREATE VIEW open_tickets AS
--     SELECT t.id, t.subject, a.slug AS account, t.priority, t.created_at
--     FROM tickets t JOIN accounts a ON a.id = t.account_id
--     WHERE t.status IN ('new', 'open', 'pending');
-- GRANT SELECT ON open_tickets TO helpdesk_reporting;
-- ROLLBACK END
