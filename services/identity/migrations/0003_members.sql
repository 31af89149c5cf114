-- Members as the register knows them: who they are, where they work, what they may do,
-- and where their account stands. No secrets: those live in the credential store.
CREATE TABLE members (
    member_id    text PRIMARY KEY COLLATE "C",
    name         text NOT NULL,
    name_kana    text NOT NULL,
    reading_key  text NOT NULL COLLATE "C",
    profession   text NOT NULL,
    roles        text[] NOT NULL,
    sites        text[] NOT NULL,
    municipality text NOT NULL,
    status       text NOT NULL,
    invited_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX members_by_municipality ON members (municipality, reading_key);
CREATE INDEX members_by_site ON members USING gin (sites);
