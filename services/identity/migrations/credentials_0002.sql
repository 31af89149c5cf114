-- Links for self-registration through a coordination centre (Izumo's model).
CREATE TABLE join_links (
    token_hash   text PRIMARY KEY,
    municipality text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
