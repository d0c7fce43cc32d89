-- Migration: Ticket events, partitioned by month
CREATE TABLE ticket_events (
    ticket_id  bigint NOT NULL,
    at         timestamptz NOT NULL,
    kind       text NOT NULL,
    payload    jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (ticket_id, at)
) PARTITION BY RANGE (at);

CREATE TABLE ticket_events_2025_03 PARTITION OF ticket_events
    FOR VALUES FROM ('2025-03-01') TO ('2025-04-01');
CREATE TABLE ticket_events_2025_04 PARTITION OF ticket_events
    FOR VALUES FROM ('2025-04-01') TO ('2025-05-01');
CREATE TABLE ticket_events_default PARTITION OF ticket_events DEFAULT;
