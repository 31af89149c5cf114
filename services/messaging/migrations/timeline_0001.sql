-- The timeline projection: one row per post. The text is kept only as the sealed text the
-- event carries (opened with the patient's key, by identity, when a member may read it).
CREATE TABLE posts (
    post_id           text PRIMARY KEY COLLATE "C",
    patient_id        text NOT NULL COLLATE "C",
    author_member_id  text NOT NULL,
    author_name       text NOT NULL,
    author_profession text,
    author_site_id    text,
    author_site_name  text,
    category          text NOT NULL,
    urgent            boolean NOT NULL,
    reply_requested   boolean NOT NULL,
    text_sealed       text NOT NULL,
    posted_at         timestamptz NOT NULL,
    sequence          bigint NOT NULL
);
-- The newest page of a timeline, and the pages after it: post ids are UUIDv7, in time order.
CREATE INDEX posts_by_patient ON posts (patient_id, post_id DESC);
