-- Migration: Safer constraint adds
SET lock_timeout = '5s';
ALTER TABLE tickets ADD CONSTRAINT tickets_subject_len CHECK (char_length(subject) <= 500) NOT VALID;
ALTER TABLE tickets VALIDATE CONSTRAINT tickets_subject_len;
ALTER TABLE agents ADD CONSTRAINT agents_email_lower CHECK (email = lower(email));
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS agents_email_uniq ON agents (lower(email));
