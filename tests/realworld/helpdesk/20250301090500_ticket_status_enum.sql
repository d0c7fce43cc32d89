-- Migration: Ticket status type
CREATE TYPE ticket_status AS ENUM ('new', 'open', 'pending', 'solved');
CREATE DOMAIN priority AS smallint CHECK (VALUE BETWEEN 1 AND 4);
