-- The audit log: one row per record, in chain order. Append-only: a trigger refuses every
-- UPDATE, DELETE and TRUNCATE (for the owner too), and the service's role may only INSERT
-- and SELECT (granted by `tsunagu-audit migrate`).
CREATE TABLE records (
    seq          bigint PRIMARY KEY,
    at           timestamptz NOT NULL,
    kind         text NOT NULL,
    member_id    text,
    session_id   text,
    sites        text[] NOT NULL DEFAULT '{}',
    municipality text,
    patient      text,
    outcome      text,
    break_glass  boolean NOT NULL DEFAULT false,
    record       bytea NOT NULL,
    leaf_hash    bytea NOT NULL,
    chain_hash   bytea NOT NULL
);
CREATE INDEX records_patient ON records (patient, at, seq) WHERE patient IS NOT NULL;
CREATE INDEX records_member ON records (member_id, at, seq);
CREATE INDEX records_session ON records (session_id, seq) WHERE session_id IS NOT NULL;
CREATE INDEX records_municipality ON records (municipality, at, seq);
CREATE INDEX records_kind ON records (kind, at, seq);
CREATE INDEX records_at ON records (at, seq);
CREATE INDEX records_sites ON records USING gin (sites);

-- Hashes of complete, aligned Merkle subtrees of 2^8 leaves and more, so a proof or a root
-- reads O(log n) rows plus at most 255 leaf hashes per part.
CREATE TABLE merkle_nodes (
    level integer NOT NULL,
    idx   bigint NOT NULL,
    hash  bytea NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints, as published on the audit stream.
CREATE TABLE checkpoints (
    tree_size  bigint PRIMARY KEY,
    key_id     text NOT NULL,
    signed_at  timestamptz NOT NULL,
    checkpoint text NOT NULL
);

-- Public keys that sign checkpoints, as published on the audit stream.
CREATE TABLE signing_keys (
    key_id        text PRIMARY KEY,
    public_key    text NOT NULL,
    introduced_at timestamptz NOT NULL,
    retired_at    timestamptz
);

-- Beside the chain, not in it: which patient a pseudonym stands for. Erasure forgets the
-- id here; the chain never held it.
CREATE TABLE patients (
    pseudonym  text PRIMARY KEY,
    patient_id text
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
