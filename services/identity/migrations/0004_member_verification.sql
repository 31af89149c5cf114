-- Members who joined through a coordination centre's link wait for the centre's
-- verification; invited members are verified by whoever invited them.
ALTER TABLE members ADD COLUMN verified boolean NOT NULL DEFAULT true;
