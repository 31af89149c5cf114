-- How far the collector has copied each source stream into the audit stream.
CREATE TABLE sources (
    stream   text PRIMARY KEY,
    position bigint NOT NULL
);
