-- The credential store: secrets and session state that are never events. Not a
-- projection: nothing here can be rebuilt from the streams, by design.
CREATE TABLE accounts (
    member_id    uuid PRIMARY KEY,
    username     text NOT NULL UNIQUE,
    password_phc text NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE TABLE activation_tokens (
    token_hash text PRIMARY KEY,
    member_id  uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE TABLE enrolments (
    token_hash    text PRIMARY KEY,
    member_id     uuid NOT NULL,
    sealed_secret bytea NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE TABLE second_factors (
    member_id      uuid PRIMARY KEY,
    sealed_secret  bytea NOT NULL,
    last_used_step bigint,
    enrolled_at    timestamptz NOT NULL
);
CREATE TABLE lockouts (
    member_id    uuid PRIMARY KEY,
    failures     integer NOT NULL,
    locked_until timestamptz
);
CREATE TABLE sessions (
    session_id     uuid PRIMARY KEY,
    member_id      uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX sessions_by_member ON sessions (member_id) WHERE revoked_at IS NULL;
CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (session_id),
    issued_at  timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    sealed_seed bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);
