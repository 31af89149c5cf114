-- Attachments: the files a post carries, by digest, size and type, as the event names them.
ALTER TABLE posts ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
