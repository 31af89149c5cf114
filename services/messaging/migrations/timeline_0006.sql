-- Mentions (@): whom a post is addressed to, by name, as the event names them.
ALTER TABLE posts ADD COLUMN mentions jsonb NOT NULL DEFAULT '[]';
