-- Break-glass grants and, once recorded, their end: what the end-of-grant sweep reads
-- (grants past their expires_at with no end recorded yet).
CREATE TABLE break_glass_grants (
    grant_id        text PRIMARY KEY COLLATE "C",
    patient_id      text NOT NULL COLLATE "C",
    expires_at      timestamptz NOT NULL,
    -- The BreakGlassOpened event: the cause of the end recorded later.
    opened_event_id uuid NOT NULL,
    ended_at        timestamptz
);
CREATE INDEX break_glass_grants_due ON break_glass_grants (expires_at) WHERE ended_at IS NULL;
