-- Migration: 'closed' status
ALTER TYPE ticket_status ADD VALUE IF NOT EXISTS 'closed' AFTER 'solved';
