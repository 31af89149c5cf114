//! The record of who touched which patient's data: one `AccessRecorded` event per patient
//! per request, allowed or denied, in the `access` context (stream `<NS>_ACCESS`, subject
//! `<ns>.access.patient.<patient_id>`, so an auditor can read one patient's history by
//! subject).
//!
//! The same stream holds the other refusals: a `PermissionDenied` for every request the
//! permission rules turned away before it touched patient data (subject
//! `<ns>.access.member.<member_id>`), so an auditor sees who tried what they may not do.
//!
//! Access records are the platform's most frequent events and every write is fsynced, so
//! they go through [`event_store::GroupCommit`]: concurrent requests share atomic batches.
//! A batch retried after a lost acknowledgement can be stored twice; readers de-duplicate by
//! event id. **Fail closed**: [`AccessLog::record`] returns only once the record is durable,
//! and a caller that gets an error must not return the data.

use chrono::{DateTime, Utc};
use consent::{AccessDecision, Purpose, Reach};
use event_store::{Actor, EventEnvelope, GroupCommit, GroupCommitError, Position, Visibility};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The context (and stream) of access records.
pub const CONTEXT: &str = "access";
/// The aggregate type: one subject per patient.
pub const PATIENT: &str = "patient";
/// The event's type name.
pub const ACCESS_RECORDED: &str = "AccessRecorded";
/// Its schema version.
pub const VERSION: u32 = 1;
/// The aggregate type of refusals: one subject per member (or `operator`).
pub const MEMBER: &str = "member";
/// The refusal's type name.
pub const PERMISSION_DENIED: &str = "PermissionDenied";
/// Its schema version.
pub const PERMISSION_DENIED_VERSION: u32 = 1;

/// Who asked, as the verified token said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accessor {
    /// The member (or integrator client) id.
    pub member_id: String,
    /// The session the request came with.
    pub session_id: String,
    /// Their roles.
    pub roles: Vec<String>,
    /// Their profession.
    pub profession: Option<String>,
    /// The sites they work at.
    pub sites: Vec<String>,
    /// Their municipality.
    pub municipality: Option<String>,
}

impl Accessor {
    /// From the verified caller.
    pub fn of(caller: &permissions::Caller) -> Self {
        Self {
            member_id: caller.member_id.clone(),
            session_id: caller.session_id.clone(),
            roles: caller
                .subject
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            profession: caller.subject.profession.map(|p| p.as_str().to_owned()),
            sites: caller.sites.clone(),
            municipality: caller.municipality.clone(),
        }
    }
}

impl Accessor {
    /// The operator's bootstrap credential, which names no member.
    pub fn operator() -> Self {
        Self {
            member_id: "operator".to_owned(),
            session_id: "bootstrap".to_owned(),
            roles: vec!["operator".to_owned()],
            profession: None,
            sites: Vec::new(),
            municipality: None,
        }
    }
}

/// A request refused by the permission rules: by the gateway before any service saw it, or
/// by the service that owns the object (answered 403). Reads of patient data are not here:
/// they are `AccessRecorded` with a denied decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionDenied {
    /// Who asked.
    pub accessor: Accessor,
    /// The HTTP route, e.g. `POST /api/v1/invitations`.
    pub route: String,
    /// The ids in the path other than a patient's, e.g. `{"member_id": "…"}`.
    pub target: std::collections::BTreeMap<String, String>,
    /// The patient in the path, if any (the audit log keeps only a pseudonym).
    pub patient_id: Option<String>,
    /// Why, as the refusal said.
    pub reason: String,
    /// Who refused: `gateway`, or the service that answered 403.
    pub refused_by: String,
    /// The client's address.
    pub client_address: Option<String>,
    /// When it was refused.
    pub at: DateTime<Utc>,
}

/// One access to one patient's data, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessRecorded {
    /// Who.
    pub accessor: Accessor,
    /// Whose data.
    pub patient_id: String,
    /// What was asked: registration data, clinical content (with categories), the record.
    pub reach: Reach,
    /// The resources touched, e.g. `registration`, `document:<sha256>`.
    pub resources: Vec<String>,
    /// Why.
    pub purpose: Purpose,
    /// The decision: allowed with its basis (consent and version, team seat, break-glass),
    /// or denied with its reason.
    pub decision: AccessDecision,
    /// Allowed by break-glass: flagged to the coordination centre and auditors, and marked
    /// for the patient's access report.
    pub break_glass: bool,
    /// The client's address.
    pub client_address: Option<String>,
    /// The HTTP route, e.g. `GET /api/v1/patients/{patient_id}`.
    pub route: String,
    /// When it was decided.
    pub at: DateTime<Utc>,
}

/// Recording failed: the data must not be returned.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The store did not take the record.
    #[error("the access could not be recorded: {0}")]
    NotRecorded(#[from] GroupCommitError),
}

/// Records accesses through group commit.
#[derive(Clone)]
pub struct AccessLog {
    commit: GroupCommit,
}

impl AccessLog {
    /// Records through `commit` (started on the `access` context).
    pub fn new(commit: GroupCommit) -> Self {
        Self { commit }
    }

    /// Records one access and returns once it is durable. `municipality` is the patient's
    /// home municipality (for tenancy summaries), `correlation_id` the request's.
    pub async fn record(
        &self,
        record: &AccessRecorded,
        municipality: Option<String>,
        correlation_id: Uuid,
    ) -> Result<Position, RecordError> {
        let envelope = EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: ACCESS_RECORDED.to_owned(),
            schema_version: VERSION,
            visibility: Visibility::Patient,
            municipality,
            aggregate_type: PATIENT.to_owned(),
            aggregate_id: record.patient_id.clone(),
            occurred_at: record.at,
            actor: Actor(format!("member:{}", record.accessor.member_id)),
            correlation_id,
            causation_id: None,
            traceparent: telemetry::current_traceparent(),
            payload: serde_json::to_value(record).unwrap_or_default(),
        };
        let position = self.commit.record(envelope).await?;
        if record.break_glass {
            tracing::warn!(patient = %record.patient_id, member = %record.accessor.member_id, "break-glass access recorded");
        }
        Ok(position)
    }

    /// Records one refusal and returns once it is durable.
    pub async fn record_refusal(
        &self,
        refusal: &PermissionDenied,
        correlation_id: Uuid,
    ) -> Result<Position, RecordError> {
        let (visibility, municipality) = if refusal.patient_id.is_some() {
            // About a patient: kept as close as the patient's data. The gateway does not
            // know the patient's home municipality, so it names none.
            (Visibility::Patient, None)
        } else {
            (
                Visibility::Municipality,
                refusal.accessor.municipality.clone(),
            )
        };
        let envelope = EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: PERMISSION_DENIED.to_owned(),
            schema_version: PERMISSION_DENIED_VERSION,
            visibility,
            municipality,
            aggregate_type: MEMBER.to_owned(),
            aggregate_id: refusal.accessor.member_id.clone(),
            occurred_at: refusal.at,
            actor: Actor(format!("member:{}", refusal.accessor.member_id)),
            correlation_id,
            causation_id: None,
            traceparent: telemetry::current_traceparent(),
            payload: serde_json::to_value(refusal).unwrap_or_default(),
        };
        Ok(self.commit.record(envelope).await?)
    }
}

/// Reads a stored refusal back.
pub fn decode_refusal(envelope: &EventEnvelope) -> Option<PermissionDenied> {
    (envelope.event_type == PERMISSION_DENIED)
        .then(|| serde_json::from_value(envelope.payload.clone()).ok())
        .flatten()
}

/// Reads a stored access record back.
pub fn decode(envelope: &EventEnvelope) -> Option<AccessRecorded> {
    (envelope.event_type == ACCESS_RECORDED)
        .then(|| serde_json::from_value(envelope.payload.clone()).ok())
        .flatten()
}
