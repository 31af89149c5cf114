-- The availability projection: each site's latest status, and every status it ever gave.
CREATE TABLE statuses (
    sequence     bigint PRIMARY KEY,
    site_id      text NOT NULL COLLATE "C",
    site_name    text NOT NULL,
    site_kind    text NOT NULL,
    municipality text NOT NULL,
    accepting    text NOT NULL,
    conditions   text,
    new_clients  integer,
    vacancies    jsonb NOT NULL,
    updated_at   timestamptz NOT NULL,
    updated_by   jsonb NOT NULL
);
-- A site's history, newest first.
CREATE INDEX statuses_by_site ON statuses (site_id, sequence DESC);

-- The latest per site: the sequence of its row in `statuses`.
CREATE TABLE latest (
    site_id      text PRIMARY KEY COLLATE "C",
    municipality text NOT NULL,
    sequence     bigint NOT NULL
);
CREATE INDEX latest_by_municipality ON latest (municipality, sequence DESC);
