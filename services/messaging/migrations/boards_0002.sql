-- Search: each board post's words as bigrams (boards carry no patient data, so in clear),
-- found through a GIN index: a search asks for posts holding all of its own bigrams.
ALTER TABLE board_posts ADD COLUMN terms text[] NOT NULL DEFAULT '{}';
CREATE INDEX board_posts_terms ON board_posts USING gin (terms);
