-- Listings: what the directory keeps of each site beside identity's register (location,
-- hours, capacity, capabilities, languages, description), the latest per site.
CREATE TABLE listings (
    site_id      text PRIMARY KEY COLLATE "C",
    site_name    text NOT NULL,
    municipality text NOT NULL,
    listing      jsonb NOT NULL,
    updated_at   timestamptz NOT NULL,
    updated_by   jsonb NOT NULL,
    sequence     bigint NOT NULL
);
CREATE INDEX listings_by_municipality ON listings (municipality, site_id);
