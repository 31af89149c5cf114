-- The municipality register as the gateway reads it. Rebuilt from the identity stream;
-- never written by anything but the register projection.
CREATE TABLE municipalities (
    code            text PRIMARY KEY,
    name            text NOT NULL,
    name_kana       text NOT NULL,
    reading_key     text NOT NULL COLLATE "C",
    prefecture_code text NOT NULL,
    registered_at   timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX municipalities_prefecture ON municipalities (prefecture_code, code);

CREATE TABLE areas (
    municipality_code text NOT NULL REFERENCES municipalities (code),
    area_id           text NOT NULL,
    kind              text NOT NULL,
    name              text NOT NULL,
    name_kana         text NOT NULL,
    added_at          timestamptz NOT NULL,
    PRIMARY KEY (municipality_code, area_id)
);

CREATE TABLE municipality_groups (
    group_id  text PRIMARY KEY,
    kind      text NOT NULL,
    name      text NOT NULL,
    name_kana text NOT NULL,
    formed_at timestamptz NOT NULL
);

CREATE TABLE group_members (
    group_id          text NOT NULL REFERENCES municipality_groups (group_id),
    municipality_code text NOT NULL REFERENCES municipalities (code),
    joined_at         timestamptz NOT NULL,
    PRIMARY KEY (group_id, municipality_code)
);
CREATE INDEX group_members_by_municipality ON group_members (municipality_code);
