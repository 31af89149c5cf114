-- The care projection: what the identity service needs to decide access to a patient and to
-- serve their record. Personal data is stored only as the sealed text the events carry
-- (opened with the patient's key when read) and is nulled when the patient is erased.

-- One row per patient: registration summary and where their subject stands.
CREATE TABLE patients (
    patient_id        text PRIMARY KEY COLLATE "C",
    home_municipality text NOT NULL,
    registering_site  text,
    registered_at     timestamptz NOT NULL,
    care_ended_at     timestamptz,
    -- Sealed personal fields: of PatientRegistered, of the latest PatientMoved and of the
    -- latest CareLevelCertified (each sealed for its event type).
    personal_sealed   text,
    address_sealed    text,
    care_level_sealed text,
    contact_24h       jsonb,
    erased_at         timestamptz,
    -- The stream sequence of the last event of the patient's subject applied here.
    last_sequence     bigint NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX patients_by_home ON patients (home_municipality) WHERE erased_at IS NULL;

-- What each patient event changes for the access decision (consent::Change), in stream
-- order: the live facts are their fold, time travel reads them with recorded_at.
CREATE TABLE patient_changes (
    patient_id  text NOT NULL COLLATE "C",
    sequence    bigint NOT NULL,
    ordinal     integer NOT NULL,
    recorded_at timestamptz NOT NULL,
    change      jsonb NOT NULL,
    PRIMARY KEY (patient_id, sequence, ordinal)
);

-- Changes about members and sites (profiles, where they work, closures) for time travel.
CREATE TABLE directory_changes (
    sequence    bigint NOT NULL,
    ordinal     integer NOT NULL,
    recorded_at timestamptz NOT NULL,
    change      jsonb NOT NULL,
    PRIMARY KEY (sequence, ordinal)
);

-- Documents of patients' records: which blob, which category gates it, the sealed title.
CREATE TABLE documents (
    document_id  text PRIMARY KEY COLLATE "C",
    patient_id   text NOT NULL COLLATE "C",
    category     text NOT NULL,
    sha256       text NOT NULL,
    media_type   text NOT NULL,
    size         bigint NOT NULL,
    title_sealed text,
    attached_by  text NOT NULL,
    site         text,
    attached_at  timestamptz NOT NULL,
    sequence     bigint NOT NULL
);
CREATE INDEX documents_by_patient ON documents (patient_id, sequence);
