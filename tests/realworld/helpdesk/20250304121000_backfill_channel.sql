-- Migration: Backfill channel
UPDATE tickets SET channel = 'email' WHERE channel IS NULL;
-- ROLLBACK: UPDATE tickets SET channel = NULL WHERE channel = 'email';
