-- Migration: channel is required
ALTER TABLE tickets ALTER COLUMN channel SET DEFAULT 'email';
ALTER TABLE tickets ALTER COLUMN channel SET NOT NULL;
