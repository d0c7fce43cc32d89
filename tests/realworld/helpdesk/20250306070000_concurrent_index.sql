-- Migration: Index for the requester search
-- Built without blocking writes: runs outside a transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS tickets_requester_email_idx
    ON tickets (lower(requester_email));
