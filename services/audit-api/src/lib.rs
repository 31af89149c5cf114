//! The public contract of the audit service: what it accepts on the bus, what it answers,
//! and the events of its stream. Serde types only, no behaviour.
//!
//! The audit stream (`<NAMESPACE>_AUDIT`) defines the order of the tamper-evident log: the
//! service copies every access record and every security event of the other contexts into
//! it ([`AuditEvent::Collected`]), adds its own facts (audit reads, signing keys, signed
//! checkpoints), and chains the records in that order. Replaying the stream from sequence
//! 0 gives the same log, hash for hash.

pub mod routes;

pub use routes::api;

use audit_chain::{Digest, SignedCheckpoint};
use chrono::{DateTime, Utc};
use event_store::{DecodeError, EventContract, EventEnvelope, decode_tagged, encode_tagged};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The service's name on the bus (`<namespace>.rpc.audit.<endpoint>`).
pub const SERVICE: &str = "audit";

/// The event context this service writes (stream `<NAMESPACE>_AUDIT`).
pub const CONTEXT: &str = "audit";

/// Aggregate types of the audit context (third token of their subjects).
pub mod aggregates {
    /// Copies of other contexts' events; the id is the source context.
    pub const COLLECTED: &str = "collected";
    /// The log's signed checkpoints; one subject (`log`), appended conditionally.
    pub const CHECKPOINT: &str = "checkpoint";
    /// Checkpoint signing keys; the id is the key id.
    pub const SIGNING_KEY: &str = "signing_key";
    /// Reads of the audit log; the id is the reader.
    pub const AUDIT_READ: &str = "audit_read";
    /// Verifications of the log; the id is the run.
    pub const VERIFICATION: &str = "verification";
}

/// Endpoint names on the bus.
pub mod endpoints {
    /// Query: records by patient, member, session, site, municipality, kind, outcome, period.
    pub const QUERY_RECORDS: &str = "query_records";
    /// Query: every access to one patient's data, with why it was allowed.
    pub const PATIENT_REPORT: &str = "patient_report";
    /// Query: every patient a member (or a session) touched in a period.
    pub const LEAK_REPORT: &str = "leak_report";
    /// Query: a municipality's monthly review.
    pub const MONTHLY_REVIEW: &str = "monthly_review";
    /// Query: a verification run (the latest, or one by id).
    pub const VERIFY: &str = "verify";
    /// Start walking the log and the checkpoints, in the background.
    pub const START_VERIFICATION: &str = "start_verification";
    /// Query: the signed checkpoints.
    pub const CHECKPOINTS: &str = "checkpoints";
    /// Query: a record's inclusion under a checkpoint.
    pub const INCLUSION_PROOF: &str = "inclusion_proof";
    /// Query: a checkpoint's consistency with an earlier one.
    pub const CONSISTENCY_PROOF: &str = "consistency_proof";
    /// Query: the raw events of a time window.
    pub const REPLAY: &str = "replay";
    /// Query: break-glass openings and uses (the coordination centre's and auditors' flags).
    pub const BREAK_GLASS_ALERTS: &str = "break_glass_alerts";
}

/// Where an event is stored in its own stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SourcePosition {
    /// The stream, e.g. `TSUNAGU_ACCESS`.
    pub stream: String,
    /// Its sequence there.
    pub sequence: u64,
}

/// Who read the audit log (every read is itself recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reader {
    /// The member (or `operator:bootstrap`).
    pub member_id: String,
    /// Their session.
    pub session_id: String,
    /// Their roles.
    pub roles: Vec<String>,
    /// Their sites.
    pub sites: Vec<String>,
    /// Their municipality.
    pub municipality: Option<String>,
}

/// Everything that happens in the audit context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum AuditEvent {
    /// An event of another context, copied into the audit order.
    Collected {
        /// Where it is stored in its own stream.
        source: SourcePosition,
        /// The event as stored there.
        event: EventEnvelope,
    },
    /// Someone read the audit log.
    AuditLogRead {
        /// Who.
        reader: Reader,
        /// What they asked (the endpoint).
        query: String,
        /// With which parameters (patients by pseudonym only).
        parameters: Value,
        /// How many records the answer held.
        results: u64,
        /// The client's address.
        client_address: Option<String>,
    },
    /// A key signs checkpoints from now on.
    SigningKeyIntroduced {
        /// Its id ([`audit_chain::key_id`]).
        key_id: String,
        /// The Ed25519 public key, lowercase hex.
        public_key: String,
    },
    /// A key signs no more checkpoints (the ones it signed stay valid).
    SigningKeyRetired {
        /// Its id.
        key_id: String,
    },
    /// The head of the log, signed: a copy of the log's state outside the database.
    CheckpointSigned {
        /// The checkpoint.
        checkpoint: SignedCheckpoint,
    },
    /// An auditor asked for the log to be walked.
    VerificationStarted {
        /// The run.
        run_id: String,
        /// Who asked (member id, or `operator:bootstrap`).
        requested_by: String,
        /// The log's size when it started.
        tree_size: u64,
    },
    /// A walk of the log ended.
    VerificationFinished {
        /// The run.
        run_id: String,
        /// What it found.
        report: VerifyReport,
    },
}

const VERSIONS: &[(&str, u32)] = &[
    ("Collected", 1),
    ("AuditLogRead", 1),
    ("SigningKeyIntroduced", 1),
    ("SigningKeyRetired", 1),
    ("CheckpointSigned", 1),
    ("VerificationStarted", 1),
    ("VerificationFinished", 1),
];

impl EventContract for AuditEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Collected { .. } => "Collected",
            Self::AuditLogRead { .. } => "AuditLogRead",
            Self::SigningKeyIntroduced { .. } => "SigningKeyIntroduced",
            Self::SigningKeyRetired { .. } => "SigningKeyRetired",
            Self::CheckpointSigned { .. } => "CheckpointSigned",
            Self::VerificationStarted { .. } => "VerificationStarted",
            Self::VerificationFinished { .. } => "VerificationFinished",
        }
    }

    fn current_version(event_type: &str) -> Option<u32> {
        VERSIONS
            .iter()
            .find(|(t, _)| *t == event_type)
            .map(|(_, v)| *v)
    }

    fn to_payload(&self) -> Value {
        encode_tagged(self).1
    }

    fn decode(event_type: &str, schema_version: u32, payload: Value) -> Result<Self, DecodeError> {
        let current = Self::current_version(event_type)
            .ok_or_else(|| DecodeError::UnknownType(event_type.to_owned()))?;
        decode_tagged(event_type, schema_version, current, payload, &[])
    }
}

/// What a record is about, in words an auditor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A request touched a patient's data (allowed or denied).
    PatientAccess,
    /// A sign-in succeeded.
    SignIn,
    /// A sign-in failed.
    SignInFailed,
    /// An account was locked after failures.
    LockedOut,
    /// A second factor was enrolled.
    SecondFactorEnrolled,
    /// Password and second factor were reset.
    CredentialsReset,
    /// A member was invited, joined, verified, activated, given other roles or left.
    MemberChange,
    /// A session or token was revoked.
    SessionRevoked,
    /// Integrators and token signing keys.
    SecurityChange,
    /// A site was registered, changed or closed.
    SiteChange,
    /// A patient was registered, moved, ended care or was erased.
    PatientChange,
    /// A consent was recorded, verified, amended, rejected, withdrawn or expired.
    ConsentChange,
    /// The care team changed.
    TeamChange,
    /// Someone opened a patient without consent in an emergency.
    BreakGlassOpened,
    /// A break-glass access ended.
    BreakGlassEnded,
    /// A document was attached to a patient's record.
    DocumentAttached,
    /// A member of the care team posted to a patient's timeline, or a post was edited or
    /// withdrawn (the record names which: `PostCreated`, `PostEdited`, `PostRetracted`).
    PostWritten,
    /// The coordination centre published a broadcast, or returned one with a reason (the
    /// record names which: `BroadcastPublished`, `BroadcastReturned`).
    BroadcastReviewed,
    /// A member opened a consultation with the coordination centre, or the centre assigned
    /// one (`ConsultationOpened`, `ConsultationAssigned`).
    ConsultationChange,
    /// Someone read the audit log.
    AuditRead,
    /// The permission rules refused a request (patient reads refused are `PatientAccess`).
    PermissionDenied,
}

impl RecordKind {
    /// Its name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PatientAccess => "patient_access",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::LockedOut => "locked_out",
            Self::SecondFactorEnrolled => "second_factor_enrolled",
            Self::CredentialsReset => "credentials_reset",
            Self::MemberChange => "member_change",
            Self::SessionRevoked => "session_revoked",
            Self::SecurityChange => "security_change",
            Self::SiteChange => "site_change",
            Self::PatientChange => "patient_change",
            Self::ConsentChange => "consent_change",
            Self::TeamChange => "team_change",
            Self::BreakGlassOpened => "break_glass_opened",
            Self::BreakGlassEnded => "break_glass_ended",
            Self::DocumentAttached => "document_attached",
            Self::PostWritten => "post_written",
            Self::BroadcastReviewed => "broadcast_reviewed",
            Self::ConsultationChange => "consultation_change",
            Self::AuditRead => "audit_read",
            Self::PermissionDenied => "permission_denied",
        }
    }

    /// Every kind.
    pub const ALL: [RecordKind; 21] = [
        Self::PatientAccess,
        Self::SignIn,
        Self::SignInFailed,
        Self::LockedOut,
        Self::SecondFactorEnrolled,
        Self::CredentialsReset,
        Self::MemberChange,
        Self::SessionRevoked,
        Self::SecurityChange,
        Self::SiteChange,
        Self::PatientChange,
        Self::ConsentChange,
        Self::TeamChange,
        Self::BreakGlassOpened,
        Self::BreakGlassEnded,
        Self::DocumentAttached,
        Self::PostWritten,
        Self::BroadcastReviewed,
        Self::ConsultationChange,
        Self::AuditRead,
        Self::PermissionDenied,
    ];

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The source of a record: which event of which stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordSource {
    /// The stream, e.g. `TSUNAGU_ACCESS` (`TSUNAGU_AUDIT` for the audit's own facts).
    pub stream: String,
    /// The sequence there.
    pub sequence: u64,
    /// The event's id.
    pub event_id: String,
}

/// One record of the log, exactly as it is hashed (RFC 8785 canonical JSON of this).
///
/// Patients appear by pseudonym only (a keyed hash of their id), so the chain never holds
/// anything erasure would have to remove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Its place in the log, from 0.
    pub seq: u64,
    /// The event it records.
    pub source: RecordSource,
    /// That event's type, e.g. `AccessRecorded`, `SignInFailed`.
    pub event_type: String,
    /// What it is about.
    pub kind: RecordKind,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it, as the event says (`member:…`, `operator:…`, `system`).
    pub actor: String,
    /// The member concerned (the accessor, the one signing in, the one changed).
    pub member_id: Option<String>,
    /// Their session, when known.
    pub session_id: Option<String>,
    /// Their roles, when known.
    pub roles: Vec<String>,
    /// Their sites (or the site concerned).
    pub sites: Vec<String>,
    /// The municipality the event belongs to (a patient's home municipality then).
    pub municipality: Option<String>,
    /// The patient, by pseudonym.
    pub patient: Option<String>,
    /// `allowed`, `denied`, `succeeded`, `failed`, or none.
    pub outcome: Option<String>,
    /// Why: the decision's basis or reason, the failure, the break-glass reason, the
    /// refusal's text: an object or a string, or null.
    #[schema(value_type = Value)]
    pub reason: Value,
    /// Clinical categories asked or allowed (names only, never content).
    pub categories: Vec<String>,
    /// Resources touched, e.g. `registration`, `document:<sha256>`.
    pub resources: Vec<String>,
    /// Why the data was asked for: `care`, `emergency`, `audit`, ….
    pub purpose: Option<String>,
    /// Allowed by break-glass.
    pub break_glass: bool,
    /// The client's address.
    pub client_address: Option<String>,
    /// The HTTP route.
    pub route: Option<String>,
    /// The rest of the event (patients by pseudonym, personal fields left out).
    #[schema(value_type = Object)]
    pub detail: Value,
}

/// A record as a query answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    /// The record as hashed.
    pub record: AuditRecord,
    /// Who, by name and profession (from the log's own registration records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<NameView>,
    /// The record's sites, by name, in the record's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub site_names: Vec<NameView>,
    /// The patient's id, when the caller may see it and the patient was not erased.
    pub patient_id: Option<String>,
    /// The chain hash after this record.
    #[schema(value_type = String)]
    pub chain_hash: Digest,
}

/// A member or a site as a reader of the log is shown it: by name where the reader may
/// see it, otherwise why not, in words the screen translates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NameView {
    /// The member's or site's id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// A member's profession.
    pub profession: Option<String>,
    /// Why no name: `other_municipality` (not the reader's to see) or `unknown` (no
    /// registration in the log).
    pub withheld: Option<String>,
}

/// A page of records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordPage {
    /// The records, by `seq`.
    pub records: Vec<RecordView>,
    /// Pass as `after` for the next page; none when this was the last.
    pub next_after: Option<u64>,
}

/// The output formats of queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A JSON page.
    #[default]
    Json,
    /// CSV with a header row.
    Csv,
    /// One JSON record per line.
    Ndjson,
    /// A FHIR R4 Bundle of `AuditEvent` resources shaped after IHE BALP.
    Fhir,
    /// A printable HTML page (patient access reports).
    Html,
}

/// A query of the records. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordQuery {
    /// Accesses to / events about this patient (by id; the service pseudonymises it).
    pub patient_id: Option<String>,
    /// By this member.
    pub member_id: Option<String>,
    /// In this session.
    pub session_id: Option<String>,
    /// By members working at this site (or about this site).
    pub site_id: Option<String>,
    /// In this municipality.
    pub municipality: Option<String>,
    /// Of these kinds.
    #[serde(default)]
    pub kinds: Vec<RecordKind>,
    /// With this outcome (`denied` for denied attempts).
    pub outcome: Option<String>,
    /// Only break-glass uses.
    #[serde(default)]
    pub break_glass: bool,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Records after this `seq` (paging by key): before it when `newest_first`.
    pub after: Option<u64>,
    /// Newest first (a history read by a person); oldest first by default (an export).
    #[serde(default)]
    pub newest_first: bool,
    /// Page size, 1–1000 (default 100).
    pub limit: Option<u32>,
    /// Output format.
    #[serde(default)]
    pub format: Format,
}

/// An answer in a format other than JSON: the gateway sends `body` as `media_type`.
pub use doors::Rendered;

/// Every access to one patient's data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientReportQuery {
    /// The patient.
    pub patient_id: String,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// JSON, CSV or HTML (printable).
    #[serde(default)]
    pub format: Format,
}

/// One line of a patient's access report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportLine {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (member id).
    pub member_id: Option<String>,
    /// Who, by name and profession.
    pub member: Option<NameView>,
    /// Their profession and roles, as recorded.
    pub roles: Vec<String>,
    /// From which sites.
    pub sites: Vec<String>,
    /// The same sites, by name.
    pub site_names: Vec<NameView>,
    /// What: categories and resources.
    pub what: Vec<String>,
    /// Allowed or denied.
    pub outcome: Option<String>,
    /// Why, in words: consent (id and version) and team seat, break-glass and its reason,
    /// or the reason for refusal.
    pub why: String,
    /// Allowed by break-glass.
    pub break_glass: bool,
    /// The record's place in the log (to prove it with an inclusion proof).
    pub seq: u64,
}

/// A patient's access report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PatientReport {
    /// The patient.
    pub patient_id: String,
    /// The period.
    pub from: Option<DateTime<Utc>>,
    /// The period's end.
    pub to: Option<DateTime<Utc>>,
    /// Accesses, oldest first.
    pub lines: Vec<ReportLine>,
    /// How many were allowed by break-glass.
    pub break_glass_uses: u64,
    /// How many were denied.
    pub denied: u64,
    /// The log's size when the report was made.
    pub log_size: u64,
    /// False when the period held more lines than one report carries (narrow the period).
    pub complete: bool,
}

/// Which member or session leaked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakQuery {
    /// The member.
    pub member_id: Option<String>,
    /// Or one session.
    pub session_id: Option<String>,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub to: Option<DateTime<Utc>>,
}

/// One patient a member touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TouchedPatient {
    /// The patient's id (none once erased: the pseudonym still identifies the records).
    pub patient_id: Option<String>,
    /// The pseudonym.
    pub patient: String,
    /// Allowed accesses.
    pub accesses: u64,
    /// Denied attempts.
    pub denied: u64,
    /// What was seen (allowed categories and resources).
    pub seen: Vec<String>,
    /// First and last access.
    pub first_at: DateTime<Utc>,
    /// Last access.
    pub last_at: DateTime<Utc>,
}

/// Every patient a member (or session) touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeakReport {
    /// The member.
    pub member_id: Option<String>,
    /// The session.
    pub session_id: Option<String>,
    /// The patients.
    pub patients: Vec<TouchedPatient>,
    /// False when there were more than one answer carries (narrow the period).
    pub complete: bool,
}

/// A municipality's review for one month.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// The municipality (6-digit code).
    pub municipality: String,
    /// `YYYY-MM`.
    pub month: String,
    /// JSON or CSV.
    #[serde(default)]
    pub format: Format,
}

/// One member's month in a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberVolume {
    /// The member.
    pub member_id: String,
    /// Their accesses.
    pub accesses: u64,
    /// Distinct patients.
    pub patients: u64,
    /// Denied attempts.
    pub denied: u64,
    /// Accesses outside working hours.
    pub outside_hours: u64,
    /// Flagged as unusual volume.
    pub unusual: bool,
}

/// The monthly review the guideline asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonthlyReview {
    /// The municipality.
    pub municipality: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Accesses to its patients.
    pub accesses: u64,
    /// Denied attempts.
    pub denied: u64,
    /// Break-glass uses.
    pub break_glass: u64,
    /// Accesses outside working hours (before 08:00, from 19:00, weekends; JST).
    pub outside_hours: u64,
    /// Sign-in failures of its members.
    pub sign_in_failures: u64,
    /// Requests of its members the permission rules refused (outside patient reads).
    pub permission_denials: u64,
    /// Distinct patients accessed.
    pub patients: u64,
    /// Members by volume, highest first.
    pub members: Vec<MemberVolume>,
    /// The rule that flagged unusual volume.
    pub unusual_rule: String,
}

/// What `verify` found wrong, at which place of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// The record's bytes or its hashes were changed.
    Altered,
    /// A record is missing.
    Deleted,
    /// A record that was never chained is there.
    Inserted,
    /// Records are out of order.
    Reordered,
    /// A record appears twice.
    Duplicated,
    /// The log ends before a checkpoint says it does.
    Truncated,
    /// A checkpoint's signature does not hold (or its key is unknown).
    BadSignature,
    /// A checkpoint's root or chain head does not match the log.
    CheckpointMismatch,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// What.
    pub finding: Finding,
    /// The record's place in the log (the `seq` it should have), when about a record.
    pub seq: Option<u64>,
    /// The checkpoint concerned (its tree size), when about a checkpoint.
    pub checkpoint: Option<u64>,
    /// In words.
    pub detail: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerifyReport {
    /// Nothing found.
    pub intact: bool,
    /// Records walked.
    pub records: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The first problem (the one to look at first).
    pub first: Option<Problem>,
    /// Every problem found (at most 100).
    pub problems: Vec<Problem>,
    /// The chain head after the last record.
    #[schema(value_type = String)]
    pub chain_head: Digest,
    /// The Merkle root over all records.
    #[schema(value_type = String)]
    pub root: Digest,
}

/// Which verification run to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationQuery {
    /// The run; the latest when absent.
    pub run_id: Option<String>,
}

/// A walk of the log, running or done. A walk of a large log takes minutes (about 100,000
/// records a second), so it runs in the background and is asked for by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerificationRun {
    /// The run.
    pub run_id: String,
    /// Who asked for it.
    pub requested_by: String,
    /// The log's size when it started.
    pub tree_size: u64,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// `running`, `finished`, or `abandoned`: the walk stopped without a report (its
    /// replica stopped or lost the database); start another.
    pub state: String,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// What it found, once finished.
    pub report: Option<VerifyReport>,
}

/// A checkpoint as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckpointView {
    /// The signed checkpoint.
    #[schema(value_type = Object)]
    pub checkpoint: SignedCheckpoint,
    /// The signing key (Ed25519, hex).
    pub public_key: String,
}

/// Proof that record `seq` is under a checkpoint of `tree_size` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    /// The record's place.
    pub seq: u64,
    /// The checkpoint's size.
    pub tree_size: u64,
    /// The record's canonical bytes, as stored (UTF-8 JSON), for those who read records
    /// whole: auditors, and a site admin for their staff. Absent for the secretariat, who
    /// read records without their clinical detail: what is proved to them is the leaf hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub record: Option<String>,
    /// RFC 9162 leaf hash of the record.
    #[schema(value_type = String)]
    pub leaf_hash: Digest,
    /// The audit path, bottom-up.
    #[schema(value_type = Vec<String>)]
    pub path: Vec<Digest>,
    /// The checkpoint it is proved against.
    #[schema(value_type = Object)]
    pub checkpoint: SignedCheckpoint,
}

/// Proof that a later checkpoint extends an earlier one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    /// The earlier checkpoint.
    #[schema(value_type = Object)]
    pub first: SignedCheckpoint,
    /// The later one.
    #[schema(value_type = Object)]
    pub second: SignedCheckpoint,
    /// RFC 9162 consistency proof.
    #[schema(value_type = Vec<String>)]
    pub proof: Vec<Digest>,
}

/// Proof requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofQuery {
    /// The record (inclusion).
    pub seq: Option<u64>,
    /// The earlier checkpoint's size (consistency).
    pub first: Option<u64>,
    /// The checkpoint's size; default the latest.
    pub tree_size: Option<u64>,
}

/// Break-glass alerts in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Records after this `seq`.
    pub after: Option<u64>,
    /// Page size, 1–1000 (default 100).
    pub limit: Option<u32>,
}

/// Raw events of a time window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayQuery {
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Audit stream sequence to continue after.
    pub after: Option<u64>,
    /// Events per page, 1–1000 (default 200).
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                Value::String(kind.as_str().to_owned())
            );
        }
    }

    #[test]
    fn audit_events_round_trip_through_their_contract() {
        let event = AuditEvent::SigningKeyRetired {
            key_id: "0123456789abcdef".into(),
        };
        let back = AuditEvent::decode(event.event_type(), 1, event.to_payload()).unwrap();
        assert_eq!(back, event);
    }
}
