-- Migration: Ticket stats function
CREATE FUNCTION ticket_stats(p_account bigint, OUT total bigint, OUT open bigint)
RETURNS record
LANGUAGE sql STABLE AS $body$
    SELECT count(*), count(*) FILTER (WHERE status IN ('new', 'open'))
    FROM tickets WHERE account_id = p_account
$body$;

CREATE PROCEDURE close_stale_tickets(p_days integer DEFAULT 30)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET status = 'closed'
    WHERE status = 'solved' AND updated_at < now() - make_interval(days => p_days);
END
$$;
