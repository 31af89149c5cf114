-- Threads: a reply names the first post of its thread.
ALTER TABLE posts ADD COLUMN reply_to text COLLATE "C";
CREATE INDEX posts_by_thread ON posts (reply_to) WHERE reply_to IS NOT NULL;
