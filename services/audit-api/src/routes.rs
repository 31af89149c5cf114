//! The audit log's routes: queries and exports, a patient's access report, leak response,
//! the monthly review, verification, checkpoints and proofs, and replay. The audit service
//! scopes every answer by who asks and records every read.

use chrono::{DateTime, Utc};
use doors::{Api, Content, Declared, Door, Object, PathId, PathIds, Route, Tag};
use permissions::Action;
use problem::Problem;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::endpoints as ep;
use crate::*;

const TAG: &str = "audit";
const AUDITORS: Door = Door::Signed(&[Action::ReadAuditLog]);
const AUDIT_READERS: Door = Door::Signed(&[
    Action::ReadAuditLog,
    Action::ReadMunicipalityAudit,
    Action::ReadOwnStaffAudit,
]);
const REGION_OR_MUNICIPALITY: Door =
    Door::Signed(&[Action::ReadAuditLog, Action::ReadMunicipalityAudit]);

/// Filters of a records query (all optional, combined with AND).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordParams {
    /// Accesses to / events about this patient.
    #[param(max_length = 128)]
    pub patient_id: Option<String>,
    /// By this member.
    #[param(max_length = 128)]
    pub member_id: Option<String>,
    /// In this session.
    #[param(max_length = 128)]
    pub session_id: Option<String>,
    /// By members of this site.
    #[param(max_length = 128)]
    pub site_id: Option<String>,
    /// In this municipality (6 digits).
    #[param(pattern = "^[0-9]{6}$")]
    pub municipality: Option<String>,
    /// Kinds, comma-separated: `patient_access`, `sign_in_failed`, `permission_denied`, `break_glass_opened`, …
    #[param(
        pattern = "^(patient_access|sign_in|sign_in_failed|locked_out|second_factor_enrolled|credentials_reset|member_change|session_revoked|security_change|site_change|patient_change|consent_change|team_change|break_glass_opened|break_glass_ended|document_attached|post_written|broadcast_reviewed|consultation_change|audit_read|permission_denied)(,(patient_access|sign_in|sign_in_failed|locked_out|second_factor_enrolled|credentials_reset|member_change|session_revoked|security_change|site_change|patient_change|consent_change|team_change|break_glass_opened|break_glass_ended|document_attached|post_written|broadcast_reviewed|consultation_change|audit_read|permission_denied))*$"
    )]
    pub kind: Option<String>,
    /// `allowed`, `denied`, `succeeded` or `failed`.
    #[param(pattern = "^(allowed|denied|succeeded|failed)$")]
    pub outcome: Option<String>,
    /// Only break-glass uses.
    pub break_glass: Option<bool>,
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Until (RFC 3339, exclusive); not before `from`.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Records after this place in the log (the previous page's `next_after`).
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// Newest first, as a person reads a history (default: oldest first, as an export
    /// replays it). `after` then pages back towards the first record.
    pub newest_first: Option<bool>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `json` (default), `csv`, `ndjson` or `fhir` (a Bundle of FHIR R4 AuditEvents).
    #[param(value_type = Option<String>, pattern = "^(json|csv|ndjson|fhir)$")]
    pub format: Option<Format>,
}

/// The kinds of a comma-separated list, naming `/kind` for one that is not.
fn kinds(text: Option<&str>) -> Result<Vec<RecordKind>, Problem> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|k| {
            RecordKind::parse(k).ok_or_else(|| {
                Problem::invalid_field("/kind", format!("{k:?} is not a kind of record"))
            })
        })
        .collect()
}

/// A patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AuditPatientPath {
    /// The patient's id.
    #[param(max_length = 128)]
    pub patient_id: String,
}

impl PathIds for AuditPatientPath {
    const IDS: &'static [PathId] = &[PathId::new("patient_id", Object::Patient)];
}

/// A period and a format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Until (RFC 3339, exclusive); not before `from`.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// `json` (default), `csv` or `html` (printable).
    #[param(value_type = Option<String>, pattern = "^(json|csv|html)$")]
    pub format: Option<Format>,
}

/// Whose accesses a leak response follows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeakParams {
    /// The member. Name a member, or one of their sessions (`session_id`): one of the two
    /// is required.
    #[param(max_length = 128)]
    pub member_id: Option<String>,
    /// Or one of their sessions (instead of `member_id`).
    #[param(max_length = 128)]
    pub session_id: Option<String>,
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Until (RFC 3339, exclusive); not before `from`.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
}

/// A municipality and a month in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReviewPath {
    /// The municipality (6 digits).
    #[param(pattern = "^[0-9]{6}$")]
    pub code: String,
    /// The month, `YYYY-MM`.
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: String,
}

impl PathIds for ReviewPath {
    const IDS: &'static [PathId] = &[
        PathId::new("code", Object::Municipality),
        PathId::new("month", Object::Month),
    ];
}

/// A format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewParams {
    /// `json` (default) or `csv`.
    #[param(value_type = Option<String>, pattern = "^(json|csv)$")]
    pub format: Option<Format>,
}

/// Which verification run to show.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerificationParams {
    /// The run (from the answer that started it); the latest when absent.
    #[param(max_length = 64)]
    pub run_id: Option<String>,
}

/// Which inclusion proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionParams {
    /// The record.
    #[param(minimum = 0, required = true)]
    pub seq: Option<u64>,
    /// The checkpoint's size; default the latest.
    #[param(minimum = 1)]
    pub tree_size: Option<u64>,
}

/// Which consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The earlier checkpoint's size.
    #[param(minimum = 1, required = true)]
    pub first: Option<u64>,
    /// The later checkpoint's size; default the latest.
    #[param(minimum = 1)]
    pub tree_size: Option<u64>,
}

/// A time window of raw events.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReplayParams {
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Until (RFC 3339, exclusive); not before `from`.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Continue after this audit stream sequence (the previous page's `Tsunagu-Next-After`).
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// Events per page, 1–1000 (default 200).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A period of break-glass alerts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Until (RFC 3339, exclusive); not before `from`.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Records after this place in the log (the previous page's `next_after`).
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The HTTP routes of the audit service, for the gateway to mount.
pub fn api() -> Api {
    Api {
        tags: &[Tag {
            name: TAG,
            description: "The tamper-evident audit log: who accessed which patient's data and every security event; queries, exports, patient access reports, leak response, monthly reviews, verification and proofs. Every read is itself recorded",
        }],
        routes: routes(),
    }
}

fn routes() -> Vec<Declared> {
    vec![
        Route::get("query_records", "/api/v1/audit/records")
            .tag(TAG)
            .summary("Query the audit log: by patient, member, session, site, municipality, kind, outcome and period, paged by key; JSON, CSV, NDJSON or FHIR. Auditors see the region, the secretariat its municipality without clinical content, a site admin their own staff.")
            .door(AUDIT_READERS)
            .query::<RecordParams>()
            .service(SERVICE, ep::QUERY_RECORDS, |_, p, _| {
                Ok(RecordQuery {
                    kinds: kinds(p.kind.as_deref())?,
                    patient_id: p.patient_id,
                    member_id: p.member_id,
                    session_id: p.session_id,
                    site_id: p.site_id,
                    municipality: p.municipality,
                    outcome: p.outcome,
                    break_glass: p.break_glass.unwrap_or(false),
                    from: p.from,
                    to: p.to,
                    after: p.after,
                    newest_first: p.newest_first.unwrap_or(false),
                    limit: p.limit,
                    format: p.format.unwrap_or_default(),
                })
            })
            .rendered_when(|q| q.format != Format::Json)
            .answers_as(
                200,
                "a page of records (or the export in the format asked; the next page starts after the `Tsunagu-Next-After` header)",
                &[
                    Content::json::<RecordPage>(),
                    Content::of::<String>("text/csv"),
                    Content::of::<String>("application/x-ndjson"),
                    Content::of::<Value>("application/fhir+json"),
                ],
            )
            .problems(&[(403, "not an auditor, the secretariat or a site admin")])
            .into(),
        Route::get("patient_report", "/api/v1/audit/patients/{patient_id}/report")
            .tag(TAG)
            .summary("A patient's access report: every access to their data — who, which site, when, what, and why it was allowed (consent, team, break-glass) — printable, for the municipality to hand to the patient.")
            .door(REGION_OR_MUNICIPALITY)
            .path::<AuditPatientPath>()
            .query::<ReportParams>()
            .service(SERVICE, ep::PATIENT_REPORT, |path, p, _| {
                Ok(PatientReportQuery {
                    patient_id: path.patient_id,
                    from: p.from,
                    to: p.to,
                    format: p.format.unwrap_or_default(),
                })
            })
            .rendered_when(|q| q.format != Format::Json)
            .answers_as(
                200,
                "the report (JSON, CSV or printable HTML)",
                &[
                    Content::json::<PatientReport>(),
                    Content::of::<String>("text/csv"),
                    Content::of::<String>("text/html"),
                ],
            )
            .problems(&[(403, "not an auditor or the secretariat")])
            .into(),
        Route::get("leak_report", "/api/v1/audit/leaks")
            .tag(TAG)
            .summary("Leak response: every patient a member (or one session) touched in a period, with what was seen.")
            .door(AUDITORS)
            .query::<LeakParams>()
            .service(SERVICE, ep::LEAK_REPORT, |_, p, _| {
                Ok(LeakQuery {
                    member_id: p.member_id,
                    session_id: p.session_id,
                    from: p.from,
                    to: p.to,
                })
            })
            .answers::<LeakReport>(200, "the patients touched")
            .problems(&[(403, "not an auditor")])
            .into(),
        Route::get("monthly_review", "/api/v1/audit/reviews/{code}/{month}")
            .tag(TAG)
            .summary("The monthly review of a municipality's log: accesses, denials, break-glass, accesses outside working hours, members with unusual volume.")
            .door(REGION_OR_MUNICIPALITY)
            .path::<ReviewPath>()
            .query::<ReviewParams>()
            .service(SERVICE, ep::MONTHLY_REVIEW, |path, p, _| {
                Ok(ReviewQuery {
                    municipality: path.code,
                    month: path.month,
                    format: p.format.unwrap_or_default(),
                })
            })
            .rendered_when(|q| q.format != Format::Json)
            .answers_as(
                200,
                "the review (JSON or CSV)",
                &[
                    Content::json::<MonthlyReview>(),
                    Content::of::<String>("text/csv"),
                ],
            )
            .problems(&[(403, "not an auditor or this municipality's secretariat")])
            .into(),
        Route::get("verify", "/api/v1/audit/verification")
            .tag(TAG)
            .summary("A verification of the log: the run asked for, or the latest. Once `state` is `finished`, its report names the first record altered, deleted, inserted, reordered or duplicated, and any checkpoint whose signature fails.")
            .door(AUDITORS)
            .query::<VerificationParams>()
            .service(SERVICE, ep::VERIFY, |_, p, _| {
                Ok(VerificationQuery { run_id: p.run_id })
            })
            .answers::<VerificationRun>(
                200,
                "the run; once finished, look at `report.intact` and `report.first`",
            )
            .problems(&[
                (400, "a query parameter is invalid"),
                (403, "not an auditor"),
                (404, "no such run, or none yet"),
            ])
            .into(),
        Route::post("start_verification", "/api/v1/audit/verification")
            .tag(TAG)
            .summary("Start a verification: walk every record and checkpoint, and hold them to the checkpoints and keys published on the stream. A large log takes minutes (about 100,000 records a second), so the walk runs in the background: follow the `Location` until its `state` is `finished` (or `abandoned`, if the service stopped during the walk: start another). Asked while a walk is running, on any replica, it answers that walk.")
            .door(AUDITORS)
            .service(SERVICE, ep::START_VERIFICATION, |_, _, _| Ok(json!({})))
            .answers::<VerificationRun>(
                202,
                "the walk started (or was already running); `Location` shows it",
            )
            .location(|run| {
                let id = run["run_id"].as_str()?;
                Some(format!("/api/v1/audit/verification?run_id={id}"))
            })
            .problems(&[
                (403, "not an auditor"),
                (409, "another walk is being started at this moment; ask again"),
                (503, "the walk could not be started or recorded"),
            ])
            .into(),
        Route::get("checkpoints", "/api/v1/audit/checkpoints")
            .tag(TAG)
            .summary("The latest signed checkpoints (at most 100), with their public keys.")
            .door(AUDIT_READERS)
            .service(SERVICE, ep::CHECKPOINTS, |_, _, _| Ok(json!({})))
            .answers::<Value>(200, "checkpoints, newest first")
            .problems(&[(403, "not an audit reader")])
            .into(),
        Route::get("inclusion_proof", "/api/v1/audit/proofs/inclusion")
            .tag(TAG)
            .summary("RFC 9162 inclusion proof of a record under a signed checkpoint.")
            .door(AUDIT_READERS)
            .query::<InclusionParams>()
            .service(SERVICE, ep::INCLUSION_PROOF, |_, p, _| {
                Ok(ProofQuery {
                    seq: p.seq,
                    first: None,
                    tree_size: p.tree_size,
                })
            })
            .answers::<InclusionProof>(200, "the record, its audit path and the checkpoint")
            .problems(&[(403, "not an audit reader")])
            .into(),
        Route::get("consistency_proof", "/api/v1/audit/proofs/consistency")
            .tag(TAG)
            .summary("RFC 9162 consistency proof between two signed checkpoints.")
            .door(AUDIT_READERS)
            .query::<ConsistencyParams>()
            .service(SERVICE, ep::CONSISTENCY_PROOF, |_, p, _| {
                Ok(ProofQuery {
                    seq: None,
                    first: p.first,
                    tree_size: p.tree_size,
                })
            })
            .answers::<ConsistencyProof>(200, "both checkpoints and the proof")
            .problems(&[(403, "not an audit reader")])
            .into(),
        Route::get("replay", "/api/v1/audit/replay")
            .tag(TAG)
            .summary("Replay: the raw events of the audit stream in a time window, as NDJSON (`{\"sequence\": …, \"event\": …}` per line), paged by sequence.")
            .door(AUDITORS)
            .query::<ReplayParams>()
            .service(SERVICE, ep::REPLAY, |_, p, _| {
                Ok(ReplayQuery {
                    from: p.from,
                    to: p.to,
                    after: p.after,
                    limit: p.limit,
                })
            })
            .rendered_when(|_| true)
            .answers_as(
                200,
                "NDJSON; the next page starts after the `Tsunagu-Next-After` header",
                &[Content::of::<String>("application/x-ndjson")],
            )
            .problems(&[(403, "not an auditor")])
            .into(),
        Route::get("break_glass_alerts", "/api/v1/break-glass-alerts")
            .tag(TAG)
            .summary("Break-glass alerts: every opening of a patient without consent (with its reason) and every access it allowed. The coordination centre sees its municipality's patients, auditors the region.")
            .door(Door::Signed(&[Action::ReadBreakGlassAlerts]))
            .query::<AlertParams>()
            .service(SERVICE, ep::BREAK_GLASS_ALERTS, |_, p, _| {
                Ok(AlertQuery {
                    from: p.from,
                    to: p.to,
                    after: p.after,
                    limit: p.limit,
                })
            })
            .answers::<RecordPage>(200, "the alerts, oldest first")
            .problems(&[(403, "not the coordination centre or an auditor")])
            .into(),
    ]
}
