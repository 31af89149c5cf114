-- Read receipts: one row per post and member who read it (既読), with when they acknowledged
-- it (了解) if they did.
CREATE TABLE receipts (
    post_id           text NOT NULL COLLATE "C",
    member_id         text NOT NULL COLLATE "C",
    name              text NOT NULL,
    profession        text,
    site_name         text,
    read_at           timestamptz NOT NULL,
    acknowledged_at   timestamptz,
    PRIMARY KEY (post_id, member_id)
);
