-- Migration: Macros (saved on Windows)
CREATE TABLE macros (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title   text NOT NULL,
    body    text NOT NULL
);
