-- Migration: updated_at maintenance
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $func$
BEGIN
    -- a nested dollar-quoted string must not end the body
    PERFORM $$ keep $$ || 'quoted';
    NEW.updated_at := now();
    RETURN NEW;
END;
$func$;

CREATE TRIGGER tickets_set_updated_at
    BEFORE UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
