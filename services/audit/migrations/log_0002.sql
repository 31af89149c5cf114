-- Walks of the log asked for through the API. Not part of the chain: the walks read it.
-- Insert-only, like the log: a run starts once and finishes once.
CREATE TABLE verifications (
    run_id       text PRIMARY KEY,
    requested_by text NOT NULL,
    tree_size    bigint NOT NULL,
    started_at   timestamptz NOT NULL
);

CREATE TABLE verification_reports (
    run_id      text PRIMARY KEY,
    finished_at timestamptz NOT NULL,
    intact      boolean NOT NULL,
    report      jsonb NOT NULL
);
