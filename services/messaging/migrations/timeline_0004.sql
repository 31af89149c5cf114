-- Edits and withdrawals. The row shows a post as it stands now (its latest text, whether it
-- was withdrawn); post_versions keeps every text it had, sealed as the events carry them.
ALTER TABLE posts
    ADD COLUMN version int NOT NULL DEFAULT 1,
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN retracted_at timestamptz,
    ADD COLUMN retracted_by_member_id text,
    ADD COLUMN retracted_by_name text,
    ADD COLUMN retracted_by_profession text,
    ADD COLUMN retracted_by_site_name text,
    ADD COLUMN retraction_reason_sealed text;
CREATE TABLE post_versions (
    post_id           text NOT NULL COLLATE "C",
    version           int NOT NULL,
    text_sealed       text NOT NULL,
    written_at        timestamptz NOT NULL,
    member_id         text NOT NULL,
    name              text NOT NULL,
    profession        text,
    site_name         text,
    PRIMARY KEY (post_id, version)
);
INSERT INTO post_versions (post_id, version, text_sealed, written_at, member_id, name, profession, site_name)
SELECT post_id, 1, text_sealed, posted_at, author_member_id, author_name, author_profession, author_site_name
  FROM posts;
