-- Migration: requester -> requester_email
ALTER TABLE tickets RENAME COLUMN requester TO requester_email;
