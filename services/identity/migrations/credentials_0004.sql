-- Each patient's data key, sealed under the credential key. The personal fields of the
-- patient's events are sealed with it; destroying it (sealed_key NULL) erases them from
-- every replay and rebuild without touching the stream.
CREATE TABLE patient_keys (
    patient_id   uuid PRIMARY KEY,
    sealed_key   bytea,
    created_at   timestamptz NOT NULL,
    destroyed_at timestamptz,
    destroyed_by text,
    CHECK ((sealed_key IS NULL) = (destroyed_at IS NOT NULL))
);
