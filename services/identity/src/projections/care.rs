//! The care projection: patients' registration summaries, the changes their events make to
//! the access decision (folded into `consent::PatientAccessFacts` when a request comes), the
//! member and site changes time travel needs, and the documents of their records.
//!
//! Personal data is kept only as the sealed text the events carry — this projection holds no
//! key and opens nothing — and is nulled when the patient is erased, so a rebuild after an
//! erasure holds none of it either.

use deadpool_postgres::Transaction;
use event_store::{EventContract, RecordedEvent};
use identity_api::events::IdentityEvent;
use identity_api::patients::sealed_personal;
use projection_runner::{ApplyError, Migration, Projection, Statements, params};

use crate::domain::access;

/// The projection (schema `care`).
#[derive(Debug, Default)]
pub struct Care;

/// Its schema name.
pub const SCHEMA: &str = "care";

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "0001_care",
        sql: include_str!("../../migrations/care_0001.sql"),
    },
    Migration {
        version: "0002_break_glass_grants",
        sql: include_str!("../../migrations/care_0002.sql"),
    },
    Migration {
        version: "0003_seats_by_site_and_member",
        sql: include_str!("../../migrations/care_0003.sql"),
    },
];

/// Prefixes a statement about one patient with the insert of the event's access changes
/// (`$1` patient, `$2` sequence, `$3` recorded at, `$4` a JSON array of `consent::Change`).
macro_rules! with_changes {
    ($sql:literal) => {
        concat!(
            "WITH c AS (INSERT INTO patient_changes (patient_id, sequence, ordinal, recorded_at, change)
                        SELECT $1, $2, t.o::int, $3, t.c FROM jsonb_array_elements($4::jsonb) WITH ORDINALITY AS t(c, o)) ",
            $sql
        )
    };
}

/// Only the subject's position moves.
const TOUCH: &str =
    with_changes!("UPDATE patients SET last_sequence = $2, updated_at = $3 WHERE patient_id = $1");

impl Projection for Care {
    fn name(&self) -> &'static str {
        SCHEMA
    }

    fn context(&self) -> &'static str {
        identity_api::CONTEXT
    }

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "patients",
            "patient_changes",
            "directory_changes",
            "documents",
            "break_glass_grants",
        ]
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut out = Statements::new();
        for event in events {
            write(event, &mut out)?;
        }
        out.execute(tx).await
    }
}

/// The statement one event makes: its access changes, and what it changes of the patient.
fn write(event: &RecordedEvent, out: &mut Statements) -> Result<(), ApplyError> {
    let env = &event.envelope;
    let at = env.occurred_at;
    let sequence = i64::try_from(event.position.sequence)
        .map_err(|_| ApplyError::Poison("sequence out of range".into()))?;
    let sealed = sealed_personal(&env.payload).map(str::to_owned);
    let decoded = IdentityEvent::decode(&env.event_type, env.schema_version, env.payload.clone())?;
    let changes = access::changes(at, &decoded);
    let Some(patient_id) = decoded.patient_id().map(str::to_owned) else {
        if changes.is_empty() {
            return Ok(());
        }
        let changes = serde_json::to_value(&changes)
            .map_err(|e| ApplyError::Poison(format!("changes: {e}")))?;
        out.push(
                    "INSERT INTO directory_changes (sequence, ordinal, recorded_at, change)
                     SELECT $1, t.o::int, $2, t.c FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(c, o)",
                    params![sequence, at, changes],
                );
        return Ok(());
    };
    let changes =
        serde_json::to_value(&changes).map_err(|e| ApplyError::Poison(format!("changes: {e}")))?;
    use IdentityEvent as E;
    match decoded {
        E::PatientRegistered {
            home_municipality,
            registering_site,
            ..
        } => {
            out.push(
                    with_changes!(
                        "INSERT INTO patients (patient_id, home_municipality, registering_site, registered_at,
                                               personal_sealed, last_sequence, updated_at)
                         VALUES ($1, $5, $6, $3, $7, $2, $3)"
                    ),
                    params![patient_id, sequence, at, changes, home_municipality, registering_site, sealed],
                );
        }
        E::PatientMoved {
            to_municipality, ..
        } => {
            out.push(
                with_changes!(
                    "UPDATE patients SET home_municipality = $5, address_sealed = $6,
                                last_sequence = $2, updated_at = $3
                         WHERE patient_id = $1"
                ),
                params![patient_id, sequence, at, changes, to_municipality, sealed],
            );
        }
        E::CareLevelCertified { .. } => {
            out.push(
                    with_changes!(
                        "UPDATE patients SET care_level_sealed = $5, last_sequence = $2, updated_at = $3
                         WHERE patient_id = $1"
                    ),
                    params![patient_id, sequence, at, changes, sealed],
                );
        }
        E::PatientCareEnded { effective_at, .. } => {
            out.push(
                with_changes!(
                    "UPDATE patients SET care_ended_at = LEAST(coalesce(care_ended_at, $5), $5),
                                last_sequence = $2, updated_at = $3
                         WHERE patient_id = $1"
                ),
                params![patient_id, sequence, at, changes, effective_at],
            );
        }
        E::Contact24hChanged { contact, .. } => {
            let contact = contact
                .map(serde_json::to_value)
                .transpose()
                .map_err(|e| ApplyError::Poison(format!("contact: {e}")))?;
            out.push(
                with_changes!(
                    "UPDATE patients SET contact_24h = $5, last_sequence = $2, updated_at = $3
                         WHERE patient_id = $1"
                ),
                params![patient_id, sequence, at, changes, contact],
            );
        }
        E::DocumentAttached {
            document_id,
            category,
            sha256,
            media_type,
            size,
            attached_by,
            site,
            ..
        } => {
            let size = i64::try_from(size)
                .map_err(|_| ApplyError::Poison("document size out of range".into()))?;
            out.push(
                    with_changes!(
                        ", d AS (INSERT INTO documents (document_id, patient_id, category, sha256, media_type, size,
                                                        title_sealed, attached_by, site, attached_at, sequence)
                                 VALUES ($5, $1, $6, $7, $8, $9, $10, $11, $12, $3, $2))
                         UPDATE patients SET last_sequence = $2, updated_at = $3 WHERE patient_id = $1"
                    ),
                    params![patient_id, sequence, at, changes, document_id, category.as_str(), sha256, media_type, size, sealed, attached_by, site],
                );
        }
        E::BreakGlassOpened { grant, .. } => {
            out.push(
                    with_changes!(
                        ", g AS (INSERT INTO break_glass_grants (grant_id, patient_id, expires_at, opened_event_id)
                                 VALUES ($5, $1, $6, $7))
                         UPDATE patients SET last_sequence = $2, updated_at = $3 WHERE patient_id = $1"
                    ),
                    params![patient_id, sequence, at, changes, grant.grant_id.as_str().to_owned(), grant.expires_at, env.event_id],
                );
        }
        E::BreakGlassEnded {
            grant_id, ended_at, ..
        } => {
            out.push(
                    with_changes!(
                        ", g AS (UPDATE break_glass_grants SET ended_at = $6 WHERE grant_id = $5)
                         UPDATE patients SET last_sequence = $2, updated_at = $3 WHERE patient_id = $1"
                    ),
                    params![patient_id, sequence, at, changes, grant_id, ended_at],
                );
        }
        E::PatientErased { .. } => {
            out.push(
                    with_changes!(
                        ", d AS (UPDATE documents SET title_sealed = NULL WHERE patient_id = $1)
                         UPDATE patients SET personal_sealed = NULL, address_sealed = NULL, care_level_sealed = NULL,
                                erased_at = $3, last_sequence = $2, updated_at = $3
                         WHERE patient_id = $1"
                    ),
                    params![patient_id, sequence, at, changes],
                );
        }
        // Consents, seats and family contacts: their changes, and the subject's position.
        E::ConsentRecorded { .. }
        | E::ConsentAmended { .. }
        | E::ConsentActivated { .. }
        | E::ConsentRejected { .. }
        | E::ConsentWithdrawn { .. }
        | E::ConsentExpired { .. }
        | E::TeamMemberAdded { .. }
        | E::TeamMemberRemoved { .. }
        | E::FamilyContactAdded { .. }
        | E::FamilyContactRemoved { .. } => {
            out.push(TOUCH, params![patient_id, sequence, at, changes]);
        }
        // Not about a patient (patient_id() is None for these).
        E::MunicipalityRegistered { .. }
        | E::MunicipalityRenamed { .. }
        | E::AreaAdded { .. }
        | E::AreaRemoved { .. }
        | E::MunicipalityGroupFormed { .. }
        | E::MunicipalityJoinedGroup { .. }
        | E::MunicipalityLeftGroup { .. }
        | E::OrganisationRegistered { .. }
        | E::OrganisationRenamed { .. }
        | E::SiteRegistered { .. }
        | E::SiteDetailsChanged { .. }
        | E::SiteClosed { .. }
        | E::MemberInvited { .. }
        | E::MemberSelfRegistered { .. }
        | E::MemberVerified { .. }
        | E::MemberActivated { .. }
        | E::SecondFactorEnrolled { .. }
        | E::CredentialsReset { .. }
        | E::MemberDeactivated { .. }
        | E::MemberRolesChanged { .. }
        | E::MemberSignedIn { .. }
        | E::SignInFailed { .. }
        | E::MemberLockedOut { .. }
        | E::SessionRevoked { .. }
        | E::IntegratorRegistered { .. }
        | E::IntegratorRevoked { .. }
        | E::SigningKeyRotated { .. } => {}
    }
    Ok(())
}
