-- Organisations (法人) and their service sites (事業所), the region's directory. Rebuilt from
-- the identity stream; never written by anything but the register projection. Every time
-- comes from an event's occurred_at, so a rebuild yields the same rows.
--
-- No unique constraint on corporate or provider numbers: the service checks them before it
-- appends, and a constraint here could only park an event the stream already holds,
-- leaving the projection short of the truth.
CREATE TABLE organisations (
    organisation_id   text PRIMARY KEY COLLATE "C",
    name              text NOT NULL,
    name_kana         text NOT NULL,
    reading_key       text NOT NULL COLLATE "C",
    corporate_number  text,
    kind              text NOT NULL,
    home_municipality text NOT NULL REFERENCES municipalities (code),
    registered_at     timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX organisations_by_reading ON organisations (reading_key, organisation_id);
CREATE INDEX organisations_by_corporate_number ON organisations (corporate_number)
    WHERE corporate_number IS NOT NULL;

CREATE TABLE sites (
    site_id           text PRIMARY KEY COLLATE "C",
    organisation_id   text NOT NULL COLLATE "C" REFERENCES organisations (organisation_id),
    provider_number   text,
    name              text NOT NULL,
    name_kana         text NOT NULL,
    reading_key       text NOT NULL COLLATE "C",
    kind              text NOT NULL,
    home_municipality text NOT NULL REFERENCES municipalities (code),
    area_id           text,
    address           text NOT NULL,
    phone             text NOT NULL,
    fax               text,
    contact_24h       text,
    registered_at     timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    closed_at         timestamptz
);
CREATE INDEX sites_by_reading ON sites (reading_key, site_id);
CREATE INDEX sites_by_organisation ON sites (organisation_id);
CREATE INDEX sites_by_provider_number ON sites (provider_number)
    WHERE provider_number IS NOT NULL;

CREATE TABLE site_service_types (
    site_id      text NOT NULL COLLATE "C" REFERENCES sites (site_id),
    service_type text NOT NULL,
    PRIMARY KEY (site_id, service_type)
);
CREATE INDEX site_service_types_by_type ON site_service_types (service_type, site_id);

CREATE TABLE site_municipalities (
    site_id           text NOT NULL COLLATE "C" REFERENCES sites (site_id),
    municipality_code text NOT NULL REFERENCES municipalities (code),
    PRIMARY KEY (site_id, municipality_code)
);
CREATE INDEX site_municipalities_by_municipality ON site_municipalities (municipality_code, site_id);
