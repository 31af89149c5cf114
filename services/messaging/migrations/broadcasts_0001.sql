-- The broadcasts projection: each broadcast as it stands, and every step of its history
-- (each version submitted, each return with its reason, its publication).
CREATE TABLE broadcasts (
    broadcast_id    text PRIMARY KEY COLLATE "C",
    municipality    text NOT NULL,
    status          text NOT NULL,
    version         integer NOT NULL,
    title           text NOT NULL,
    text            text NOT NULL,
    professions     jsonb NOT NULL,
    submitted_by    jsonb,
    returned_reason text,
    published_at    timestamptz,
    published_by    jsonb,
    updated_at      timestamptz NOT NULL,
    sequence        bigint NOT NULL
);
-- A municipality's broadcasts, newest first (ids are UUIDv7, in time order).
CREATE INDEX broadcasts_by_municipality ON broadcasts (municipality, broadcast_id DESC);

CREATE TABLE broadcast_steps (
    broadcast_id text NOT NULL COLLATE "C",
    sequence     bigint NOT NULL,
    step         text NOT NULL,
    version      integer NOT NULL,
    title        text,
    text         text,
    reason       text,
    by_member    jsonb NOT NULL,
    at           timestamptz NOT NULL,
    PRIMARY KEY (broadcast_id, sequence)
);
