-- Migration: Tickets
CREATE TABLE tickets (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id),
    subject      text NOT NULL,
    status       ticket_status NOT NULL DEFAULT 'new',
    priority     priority NOT NULL DEFAULT 3,
    requester    text NOT NULL,
    assignee_id  bigint REFERENCES agents (id) DEFERRABLE INITIALLY DEFERRED,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_account_status_idx ON tickets (account_id, status);
COMMENT ON TABLE tickets IS 'One customer request';
COMMENT ON COLUMN tickets.requester IS 'Email address of whoever wrote in';
