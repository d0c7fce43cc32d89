-- Migration: Ticket channel
ALTER TABLE tickets ADD COLUMN channel text;
ALTER TABLE tickets ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
