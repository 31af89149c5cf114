-- Who and where, by name: each member's and site's name as the log's own records last said
-- it (MemberInvited, MemberSelfRegistered, SiteRegistered, SiteDetailsChanged), with its
-- municipality, so a report names people and places without asking another service.
-- Rebuilt from the records like the rest of the log.
CREATE TABLE names (
    kind         text NOT NULL,
    id           text NOT NULL,
    name         text NOT NULL,
    profession   text,
    municipality text,
    PRIMARY KEY (kind, id)
);
