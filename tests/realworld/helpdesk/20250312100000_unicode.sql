-- Migration: Übersetzungen (translations)
-- Description: Texte für Kunden in ihrer Sprache — «localisé», 日本語 too
CREATE TABLE "übersetzungen" (
    schlüssel   text PRIMARY KEY,
    "Text"      text NOT NULL,
    sprache     char(2) NOT NULL DEFAULT 'de'
);
COMMENT ON TABLE "übersetzungen" IS 'Kundentexte – mit Umlauten';
