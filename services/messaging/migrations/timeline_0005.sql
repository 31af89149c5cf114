-- Search: each post's terms (the bigrams of its text, each keyed with the patient's key, so
-- the numbers say nothing without the key and nothing at all once the patient is erased).
-- A search looks up the numbers of its own terms, keyed for the patients it may see.
CREATE TABLE post_terms (
    term     bigint NOT NULL,
    post_id  text NOT NULL COLLATE "C",
    PRIMARY KEY (term, post_id)
);
CREATE INDEX post_terms_by_post ON post_terms (post_id);
