-- Migration: touch trigger also bumps a counter
ALTER TABLE tickets ADD COLUMN revision integer NOT NULL DEFAULT 0;
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $func$
BEGIN
    NEW.updated_at := now();
    NEW.revision := OLD.revision + 1;
    RETURN NEW;
END;
$func$;
ALTER FUNCTION set_updated_at() SET search_path = pg_catalog, public;
