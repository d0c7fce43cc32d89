-- Migration: Invoice notes
-- Written after the dump: relies on the session's search_path being the default again
CREATE TABLE invoice_notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id bigint NOT NULL REFERENCES billing.invoices (id) ON DELETE CASCADE,
    body text NOT NULL
);
