-- Migration: Demo account
-- Description: Data migration; rolling it back is a decision, so it says how
INSERT INTO accounts (slug, name) VALUES ('demo', 'Demo Inc.');
INSERT INTO agents (account_id, email, display)
SELECT id, 'ada@demo.test', 'Ada' FROM accounts WHERE slug = 'demo';
-- ROLLBACK BEGIN
-- DELETE FROM agents WHERE email = 'ada@demo.test';
-- DELETE FROM accounts WHERE slug = 'demo';
-- ROLLBACK END
