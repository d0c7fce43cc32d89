-- Migration: Placeholder
-- Nothing to do here: the change planned for this slot moved to the next migration.
-- Kept so that the numbering matches the release notes.
SELECT 1; -- an empty migration is refused, so the placeholder runs a no-op
