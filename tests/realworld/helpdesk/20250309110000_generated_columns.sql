-- Migration: Search vector
ALTER TABLE tickets
    ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce(subject, ''))) STORED;
CREATE INDEX tickets_search_idx ON tickets USING gin (search);
