-- Migration: macros -> canned_replies
ALTER TABLE macros RENAME TO canned_replies;
ALTER INDEX macros_pkey RENAME TO canned_replies_pkey;
ALTER TYPE ticket_status RENAME VALUE 'pending' TO 'waiting';
CREATE SCHEMA archive;
ALTER TABLE ticket_events_default SET SCHEMA archive;
