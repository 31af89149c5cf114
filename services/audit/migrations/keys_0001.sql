-- Checkpoint signing keys: the secret half sealed under TSUNAGU_AUDIT_SEALING_KEY. Not a
-- projection: a secret is never an event, so this is never rebuilt from the stream.
CREATE TABLE signing_keys (
    key_id        text PRIMARY KEY,
    public_key    text NOT NULL,
    sealed_secret bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    retired_at    timestamptz
);
