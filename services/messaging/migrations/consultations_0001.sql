-- The consultations projection: each consultation as it stands, and its messages in order.
CREATE TABLE consultations (
    consultation_id text PRIMARY KEY COLLATE "C",
    municipality    text NOT NULL,
    subject         text NOT NULL,
    patient_id      text,
    opened_by       jsonb NOT NULL,
    opener_id       text NOT NULL,
    assignee        jsonb,
    open            boolean NOT NULL,
    opened_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    sequence        bigint NOT NULL
);
-- The centre's list (its municipality's, newest first) and an asker's own.
CREATE INDEX consultations_by_municipality ON consultations (municipality, consultation_id DESC);
CREATE INDEX consultations_by_opener ON consultations (opener_id, consultation_id DESC);

CREATE TABLE consultation_messages (
    consultation_id text NOT NULL COLLATE "C",
    sequence        bigint NOT NULL,
    text            text NOT NULL,
    by_member       jsonb NOT NULL,
    from_centre     boolean NOT NULL,
    at              timestamptz NOT NULL,
    PRIMARY KEY (consultation_id, sequence)
);
