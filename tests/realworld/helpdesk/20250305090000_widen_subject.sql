-- Migration: Longer display names (varchar(100) -> varchar(200) -> text)
ALTER TABLE agents ALTER COLUMN display TYPE varchar(200);
ALTER TABLE agents ALTER COLUMN display TYPE text;
