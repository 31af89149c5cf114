-- The boards projection: each board with its audience, each post in clear (boards never
-- carry patient data).
CREATE TABLE boards (
    board_id     text PRIMARY KEY COLLATE "C",
    name         text NOT NULL,
    description  text,
    municipality text,
    professions  jsonb NOT NULL,
    sites        jsonb NOT NULL,
    fire_and_police boolean NOT NULL,
    opened_at    timestamptz NOT NULL,
    opened_by    jsonb NOT NULL
);
-- A member's boards: their municipality's and the region's.
CREATE INDEX boards_by_municipality ON boards (municipality, board_id);

CREATE TABLE board_posts (
    post_id           text PRIMARY KEY COLLATE "C",
    board_id          text NOT NULL COLLATE "C",
    kind              text NOT NULL,
    text              text NOT NULL,
    author_member_id  text NOT NULL,
    author_name       text NOT NULL,
    author_profession text,
    author_site_name  text,
    posted_at         timestamptz NOT NULL,
    reply_to          text,
    pinned_at         timestamptz,
    sequence          bigint NOT NULL
);
-- A board's newest page and the pages after it: post ids are UUIDv7, in time order.
CREATE INDEX board_posts_by_board ON board_posts (board_id, post_id DESC);
CREATE INDEX board_posts_pinned ON board_posts (board_id, pinned_at DESC) WHERE pinned_at IS NOT NULL;
