-- Migration: Reporting views
CREATE VIEW open_tickets AS
    SELECT t.id, t.subject, a.slug AS account, t.priority, t.created_at
    FROM tickets t JOIN accounts a ON a.id = t.account_id
    WHERE t.status IN ('new', 'open', 'pending');

CREATE MATERIALIZED VIEW daily_ticket_counts AS
    SELECT account_id, date_trunc('day', created_at) AS day, count(*) AS n
    FROM tickets GROUP BY 1, 2
WITH NO DATA;
CREATE UNIQUE INDEX daily_ticket_counts_key ON daily_ticket_counts (account_id, day);
