//! Reads of the care projection: a patient's access facts (the fold of their recorded
//! changes, cached by the sequence it reached), their registration summary, documents and
//! history for time travel, and the sealed personal data of a municipality's patients for
//! the duplicate warning.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use consent::{Change, PatientAccessFacts, PatientHistory};
use deadpool_postgres::Pool;

use crate::projections::care::SCHEMA;
use crate::queries::{Cached, QueryError};

/// A patient's row of the care projection.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientRow {
    pub home_municipality: String,
    pub registering_site: Option<String>,
    pub care_ended_at: Option<DateTime<Utc>>,
    pub personal_sealed: Option<String>,
    pub address_sealed: Option<String>,
    pub care_level_sealed: Option<String>,
    pub contact_24h: Option<serde_json::Value>,
    pub erased_at: Option<DateTime<Utc>>,
    /// The last sequence of the patient's subject the projection has applied.
    pub last_sequence: u64,
}

/// A document of a patient's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRow {
    pub document_id: String,
    pub patient_id: String,
    pub category: String,
    pub sha256: String,
    pub media_type: String,
    pub size: u64,
    pub title_sealed: Option<String>,
    pub attached_at: DateTime<Utc>,
}

pub async fn patient(pool: &Pool, patient_id: &str) -> Result<Option<PatientRow>, QueryError> {
    debug_assert_eq!(SCHEMA, "care");
    let client = pool.get().await?;
    let row = client
        .query_opt_cached(
            "SELECT home_municipality, registering_site, care_ended_at, personal_sealed, address_sealed,
                    care_level_sealed, contact_24h, erased_at, last_sequence
             FROM care.patients WHERE patient_id = $1",
            &[&patient_id],
        )
        .await?;
    Ok(row.map(|r| PatientRow {
        home_municipality: r.get(0),
        registering_site: r.get(1),
        care_ended_at: r.get(2),
        personal_sealed: r.get(3),
        address_sealed: r.get(4),
        care_level_sealed: r.get(5),
        contact_24h: r.get(6),
        erased_at: r.get(7),
        last_sequence: r.get::<_, i64>(8).max(0) as u64,
    }))
}

/// Patients who were ever given a seat at one of `sites` or naming `member`, after
/// `after` in id order: the candidates of a member's list (whether the seat is still held
/// is the fold's to say).
pub async fn team_candidates(
    pool: &Pool,
    sites: &[String],
    member: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<String>, QueryError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT DISTINCT patient_id FROM care.patient_changes
             WHERE change->>'change' = 'team_member_added'
               AND (change->'membership'->>'site' = ANY($1) OR change->'membership'->>'member' = $2)
               AND patient_id > $3
             ORDER BY patient_id LIMIT $4",
            &[&sites, &member, &after.unwrap_or(""), &i64::from(limit)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Patients whose home municipality is `municipality` now, after `after` in id order (erased
/// ones too: their registration data remains).
pub async fn municipality_patients(
    pool: &Pool,
    municipality: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<String>, QueryError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT patient_id FROM care.patients
             WHERE home_municipality = $1 AND patient_id > $2
             ORDER BY patient_id LIMIT $3",
            &[&municipality, &after.unwrap_or(""), &i64::from(limit)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// A patient's recorded changes up to `sequence`, in stream order.
pub async fn changes(
    pool: &Pool,
    patient_id: &str,
    sequence: u64,
) -> Result<Vec<Change>, QueryError> {
    let client = pool.get().await?;
    let rows = client
        .query_cached(
            "SELECT change FROM care.patient_changes WHERE patient_id = $1 AND sequence <= $2
             ORDER BY sequence, ordinal",
            &[&patient_id, &(sequence as i64)],
        )
        .await?;
    rows.into_iter()
        .map(|r| Ok(serde_json::from_value(r.get(0))?))
        .collect()
}

/// The facts of a patient: the fold of their changes in stream order, at the sequence of
/// the last event of their subject applied (events that change nothing for the decision —
/// documents, contacts — move it too).
pub fn fold(
    patient_id: &str,
    changes: impl IntoIterator<Item = Change>,
    sequence: u64,
) -> PatientAccessFacts {
    let mut facts = PatientAccessFacts::new(patient_id.into());
    for change in changes {
        facts.apply(&change);
    }
    facts.sequence = sequence;
    facts
}

/// Everything recorded about a patient and about the members and sites of the region, in
/// stream order with the time it was recorded: time travel's input.
pub async fn history(pool: &Pool, patient_id: &str) -> Result<PatientHistory, QueryError> {
    let client = pool.get().await?;
    let rows = client
        .query_cached(
            "SELECT sequence, ordinal, recorded_at, change FROM care.patient_changes WHERE patient_id = $1
             UNION ALL
             SELECT sequence, ordinal, recorded_at, change FROM care.directory_changes
             ORDER BY 1, 2",
            &[&patient_id],
        )
        .await?;
    let mut history = PatientHistory::new(patient_id.into());
    for r in rows {
        history.record(r.get(2), serde_json::from_value(r.get(3))?);
    }
    Ok(history)
}

fn document(r: &tokio_postgres::Row) -> DocumentRow {
    DocumentRow {
        document_id: r.get(0),
        patient_id: r.get(1),
        category: r.get(2),
        sha256: r.get(3),
        media_type: r.get(4),
        size: r.get::<_, i64>(5).max(0) as u64,
        title_sealed: r.get(6),
        attached_at: r.get(7),
    }
}

const DOCUMENT: &str =
    "SELECT document_id, patient_id, category, sha256, media_type, size, title_sealed, attached_at
                        FROM care.documents";

/// A patient's documents of these categories, oldest first.
pub async fn documents(
    pool: &Pool,
    patient_id: &str,
    categories: &[&str],
) -> Result<Vec<DocumentRow>, QueryError> {
    let client = pool.get().await?;
    let rows = client
        .query_cached(
            &format!("{DOCUMENT} WHERE patient_id = $1 AND category = ANY($2) ORDER BY sequence"),
            &[&patient_id, &categories],
        )
        .await?;
    Ok(rows.iter().map(document).collect())
}

/// One document.
pub async fn document_by_id(
    pool: &Pool,
    document_id: &str,
) -> Result<Option<DocumentRow>, QueryError> {
    let client = pool.get().await?;
    let row = client
        .query_opt_cached(
            &format!("{DOCUMENT} WHERE document_id = $1"),
            &[&document_id],
        )
        .await?;
    Ok(row.as_ref().map(document))
}

/// The patients of a municipality not erased, with their sealed registration data.
pub async fn sealed_registrations_in(
    pool: &Pool,
    municipality: &str,
) -> Result<Vec<(String, String)>, QueryError> {
    let client = pool.get().await?;
    let rows = client
        .query_cached(
            "SELECT patient_id, personal_sealed FROM care.patients
             WHERE home_municipality = $1 AND erased_at IS NULL AND personal_sealed IS NOT NULL",
            &[&municipality],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Folded facts by patient, valid for the sequence they were folded at: a request whose
/// patient has not changed since reuses the fold.
#[derive(Debug, Default)]
pub struct FactsCache {
    facts: Mutex<HashMap<String, Arc<PatientAccessFacts>>>,
}

/// The most patients whose facts are kept; past it the cache starts afresh.
const CACHE_LIMIT: usize = 20_000;

impl FactsCache {
    pub fn get(&self, patient_id: &str, sequence: u64) -> Option<Arc<PatientAccessFacts>> {
        let facts = self.facts.lock().unwrap_or_else(|e| e.into_inner());
        facts
            .get(patient_id)
            .filter(|f| f.sequence == sequence)
            .cloned()
    }

    pub fn put(&self, facts: Arc<PatientAccessFacts>) {
        let mut cached = self.facts.lock().unwrap_or_else(|e| e.into_inner());
        if cached.len() >= CACHE_LIMIT {
            cached.clear();
        }
        cached.insert(facts.patient_id.as_str().to_owned(), facts);
    }
}

#[cfg(test)]
mod tests {
    use consent::{
        AccessRequest, CategorySet, ConsentForm, ConsentModel, ConsentStatus, ConsentTerms,
        ConsentVersion, GivenBy, ObtainedBy, Purpose, Reach, TeamMembership, TeamPart,
    };
    use permissions::{Caller, Profession, Role, Subject};

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Rows as the projection stores them: JSON, read back in sequence order.
    fn rows() -> Vec<serde_json::Value> {
        let day = "2026-10-01".parse().unwrap();
        let changes = [
            Change::PatientRegistered {
                home_municipality: "322032".into(),
                registering_site: Some("care-office".into()),
            },
            Change::ConsentVersionRecorded {
                version: ConsentVersion {
                    consent_id: "c1".into(),
                    version: 1,
                    status: ConsentStatus::Pending,
                    terms: ConsentTerms {
                        model: ConsentModel::ListedSites {
                            sites: vec!["nursing".into()],
                        },
                        categories: CategorySet::ALL,
                        valid_from: day,
                        valid_until: None,
                        family_information: false,
                        form: ConsentForm::Written,
                        given_by: GivenBy::Patient,
                        signed_on: day,
                        obtained_by: ObtainedBy {
                            site: "nursing".into(),
                            member: "ns".into(),
                        },
                        scanned_form: None,
                    },
                },
            },
            Change::TeamMemberAdded {
                membership: TeamMembership {
                    membership_id: "t1".into(),
                    site: "nursing".into(),
                    member: None,
                    part: TeamPart::VisitingNurse,
                    since: at("2026-10-01T00:00:00Z"),
                    until: None,
                },
            },
            Change::ConsentActivated {
                consent_id: "c1".into(),
                version: 1,
            },
        ];
        changes
            .iter()
            .map(|c| serde_json::to_value(c).unwrap())
            .collect()
    }

    fn nurse() -> Caller {
        Caller {
            member_id: "ns".into(),
            session_id: "s".into(),
            subject: Subject::new([Role::Professional], Some(Profession::Nurse)),
            sites: vec!["nursing".into()],
            municipality: Some("322032".into()),
        }
    }

    #[test]
    fn the_facts_are_the_fold_of_the_stored_rows_at_the_subjects_last_sequence() {
        let changes: Vec<Change> = rows()
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
        // The last event of the subject (a document, say) changed nothing for the decision
        // but moved the subject to 9.
        let facts = fold("p1", changes.clone(), 9);
        assert!(facts.registered);
        assert_eq!(facts.consents[0].status, ConsentStatus::Active);
        assert_eq!(facts.sequence, 9);
        let caller = nurse();
        let ask = |facts: &PatientAccessFacts, last| {
            consent::decide(
                facts,
                &AccessRequest {
                    member: &caller,
                    patient: "p1",
                    reach: Reach::ReadClinical {
                        categories: CategorySet::ALL,
                    },
                    purpose: Purpose::Care,
                    at: at("2026-10-02T00:00:00Z"),
                    subject_last_sequence: Some(last),
                },
            )
        };
        assert!(ask(&facts, 9).is_allowed());
        // A change the fold has not seen (a withdrawal at 10) refuses the request.
        assert_eq!(
            ask(&facts, 10).reason(),
            Some(consent::DenialReason::FactsBehind {
                facts_sequence: 9,
                subject_sequence: 10
            })
        );
        // Folded without the activation, the consent is still pending.
        let before = fold("p1", changes[..3].to_vec(), 3);
        assert_eq!(
            ask(&before, 3).reason(),
            Some(consent::DenialReason::ConsentPending)
        );
    }

    #[test]
    fn cached_facts_serve_only_the_sequence_they_were_folded_at() {
        let cache = FactsCache::default();
        cache.put(Arc::new(fold("p1", Vec::new(), 4)));
        assert!(cache.get("p1", 4).is_some());
        assert!(cache.get("p1", 5).is_none());
        assert!(cache.get("p2", 4).is_none());
    }
}
