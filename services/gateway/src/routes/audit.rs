//! The audit log: queries and exports, a patient's access report, leak response, the
//! monthly review, verification, checkpoints and proofs, and replay. The audit service
//! scopes every answer by who asks and records every read.

use audit_api::endpoints as ep;
use audit_api::*;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bus::Reply;
use chrono::{DateTime, Utc};
use problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::auth::Signed;
use crate::error::ApiError;
use crate::extract::{ClientAddr, MinPosition, Params, RequestId};
use crate::state::AppState;

/// Header: where the next page of an export starts (pass it as `after`).
pub const NEXT_AFTER_HEADER: &str = "tsunagu-next-after";

fn ctx(signed: &Signed, rid: &RequestId, addr: ClientAddr) -> bus::CallContext {
    signed
        .context_after(rid, MinPosition(None))
        .from_address(addr.0)
}

/// Calls the audit service; a JSON answer goes out as JSON, a rendered one (CSV, NDJSON,
/// FHIR, HTML) with its own media type.
async fn call<B: Serialize>(
    state: &AppState,
    endpoint: &str,
    ctx: &bus::CallContext,
    body: &B,
    rendered: bool,
) -> Result<Response, ApiError> {
    match state.bus.call(SERVICE, endpoint, ctx, body).await {
        Reply::Ok { value, .. } if rendered => {
            let out: Rendered =
                serde_json::from_value(value).map_err(|_| ApiError(Problem::internal()))?;
            let mut response = (StatusCode::OK, out.body).into_response();
            if let Ok(v) = HeaderValue::from_str(&out.media_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            if let Some(next) = out.next_after {
                response
                    .headers_mut()
                    .insert(NEXT_AFTER_HEADER, HeaderValue::from(next));
            }
            Ok(response)
        }
        Reply::Ok { value, .. } => Ok((StatusCode::OK, axum::Json(value)).into_response()),
        Reply::Problem(p) => Err(ApiError(p)),
    }
}

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
        pattern = "^(patient_access|sign_in|sign_in_failed|locked_out|second_factor_enrolled|credentials_reset|member_change|session_revoked|security_change|site_change|patient_change|consent_change|team_change|break_glass_opened|break_glass_ended|document_attached|audit_read|permission_denied)(,(patient_access|sign_in|sign_in_failed|locked_out|second_factor_enrolled|credentials_reset|member_change|session_revoked|security_change|site_change|patient_change|consent_change|team_change|break_glass_opened|break_glass_ended|document_attached|audit_read|permission_denied))*$"
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
    /// Until (RFC 3339, exclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Records after this place in the log (the previous page's `next_after`).
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `json` (default), `csv`, `ndjson` or `fhir` (a Bundle of FHIR R4 AuditEvents).
    #[param(value_type = Option<String>, pattern = "^(json|csv|ndjson|fhir)$")]
    pub format: Option<Format>,
}

fn kinds(text: Option<&str>) -> Result<Vec<RecordKind>, ApiError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|k| {
            RecordKind::parse(k).ok_or_else(|| {
                ApiError(Problem::invalid_field(
                    "/kind",
                    format!("{k:?} is not a kind of record"),
                ))
            })
        })
        .collect()
}

/// Query the audit log: by patient, member, session, site, municipality, kind, outcome and
/// period, paged by key; JSON, CSV, NDJSON or FHIR. Auditors see the region, the
/// secretariat its municipality without clinical content, a site admin their own staff.
#[utoipa::path(get, path = "/audit/records", tag = "audit", security(("bearer" = [])),
    params(RecordParams),
    responses((status = 200, description = "a page of records (or the export in the format asked; the next page starts after the `Tsunagu-Next-After` header)",
                content((RecordPage = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"), (serde_json::Value = "application/fhir+json"))),
              (status = 403, description = "not an auditor, the secretariat or a site admin", body = Problem, content_type = "application/problem+json")))]
pub async fn query_records(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Params(p): Params<RecordParams>,
) -> Result<Response, ApiError> {
    let format = p.format.unwrap_or_default();
    let q = RecordQuery {
        patient_id: p.patient_id,
        member_id: p.member_id,
        session_id: p.session_id,
        site_id: p.site_id,
        municipality: p.municipality,
        kinds: kinds(p.kind.as_deref())?,
        outcome: p.outcome,
        break_glass: p.break_glass.unwrap_or(false),
        from: p.from,
        to: p.to,
        after: p.after,
        limit: p.limit,
        format,
    };
    let rendered = format != Format::Json;
    call(
        &state,
        ep::QUERY_RECORDS,
        &ctx(&signed, &rid, addr),
        &q,
        rendered,
    )
    .await
}

/// A patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AuditPatientPath {
    /// The patient's id.
    #[param(max_length = 128)]
    pub patient_id: String,
}

/// A period and a format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Until (RFC 3339, exclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// `json` (default), `csv` or `html` (printable).
    #[param(value_type = Option<String>, pattern = "^(json|csv|html)$")]
    pub format: Option<Format>,
}

/// A patient's access report: every access to their data — who, which site, when, what,
/// and why it was allowed (consent, team, break-glass) — printable, for the municipality
/// to hand to the patient.
#[utoipa::path(get, path = "/audit/patients/{patient_id}/report", tag = "audit", security(("bearer" = [])),
    params(AuditPatientPath, ReportParams),
    responses((status = 200, description = "the report (JSON, CSV or printable HTML)",
                content((PatientReport = "application/json"), (String = "text/csv"), (String = "text/html"))),
              (status = 403, description = "not an auditor or the secretariat", body = Problem, content_type = "application/problem+json")))]
pub async fn patient_report(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(AuditPatientPath { patient_id }): Path<AuditPatientPath>,
    Params(p): Params<ReportParams>,
) -> Result<Response, ApiError> {
    let format = p.format.unwrap_or_default();
    let q = PatientReportQuery {
        patient_id,
        from: p.from,
        to: p.to,
        format,
    };
    call(
        &state,
        ep::PATIENT_REPORT,
        &ctx(&signed, &rid, addr),
        &q,
        format != Format::Json,
    )
    .await
}

/// Whose accesses a leak response follows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeakParams {
    /// The member.
    #[param(max_length = 128)]
    pub member_id: Option<String>,
    /// Or one of their sessions.
    #[param(max_length = 128)]
    pub session_id: Option<String>,
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Until (RFC 3339, exclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
}

/// Leak response: every patient a member (or one session) touched in a period, with what
/// was seen.
#[utoipa::path(get, path = "/audit/leaks", tag = "audit", security(("bearer" = [])),
    params(LeakParams),
    responses((status = 200, description = "the patients touched", body = LeakReport),
              (status = 403, description = "not an auditor", body = Problem, content_type = "application/problem+json")))]
pub async fn leak_report(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Params(p): Params<LeakParams>,
) -> Result<Response, ApiError> {
    let q = LeakQuery {
        member_id: p.member_id,
        session_id: p.session_id,
        from: p.from,
        to: p.to,
    };
    call(
        &state,
        ep::LEAK_REPORT,
        &ctx(&signed, &rid, addr),
        &q,
        false,
    )
    .await
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

/// A format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewParams {
    /// `json` (default) or `csv`.
    #[param(value_type = Option<String>, pattern = "^(json|csv)$")]
    pub format: Option<Format>,
}

/// The monthly review of a municipality's log: accesses, denials, break-glass, accesses
/// outside working hours, members with unusual volume.
#[utoipa::path(get, path = "/audit/reviews/{code}/{month}", tag = "audit", security(("bearer" = [])),
    params(ReviewPath, ReviewParams),
    responses((status = 200, description = "the review (JSON or CSV)",
                content((MonthlyReview = "application/json"), (String = "text/csv"))),
              (status = 403, description = "not an auditor or this municipality's secretariat", body = Problem, content_type = "application/problem+json")))]
pub async fn monthly_review(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(ReviewPath { code, month }): Path<ReviewPath>,
    Params(p): Params<ReviewParams>,
) -> Result<Response, ApiError> {
    let format = p.format.unwrap_or_default();
    let q = ReviewQuery {
        municipality: code,
        month,
        format,
    };
    call(
        &state,
        ep::MONTHLY_REVIEW,
        &ctx(&signed, &rid, addr),
        &q,
        format != Format::Json,
    )
    .await
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

/// A verification of the log: the run asked for, or the latest. Once `state` is
/// `finished`, its report names the first record altered, deleted, inserted, reordered or
/// duplicated, and any checkpoint whose signature fails.
#[utoipa::path(get, path = "/audit/verification", tag = "audit", security(("bearer" = [])),
    params(VerificationParams),
    responses((status = 200, description = "the run; once finished, look at `report.intact` and `report.first`", body = VerificationRun),
              (status = 400, description = "a query parameter is invalid", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "not an auditor", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "no such run, or none yet", body = Problem, content_type = "application/problem+json")))]
pub async fn verify(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Params(p): Params<VerificationParams>,
) -> Result<Response, ApiError> {
    let q = VerificationQuery { run_id: p.run_id };
    call(&state, ep::VERIFY, &ctx(&signed, &rid, addr), &q, false).await
}

/// Start a verification: walk every record and checkpoint, and hold them to the
/// checkpoints and keys published on the stream. A large log takes minutes (about 100,000
/// records a second), so the walk runs in the background: follow the `Location` until its
/// `state` is `finished` (or `abandoned`, if the service stopped during the walk: start
/// another). Asked while a walk is running, on any replica, it answers that walk.
#[utoipa::path(post, path = "/audit/verification", tag = "audit", security(("bearer" = [])),
    responses((status = 202, description = "the walk started (or was already running); `Location` shows it", body = VerificationRun),
              (status = 403, description = "not an auditor", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "another walk is being started at this moment; ask again", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "the walk could not be started or recorded", body = Problem, content_type = "application/problem+json")))]
pub async fn start_verification(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
) -> Result<Response, ApiError> {
    let ctx = ctx(&signed, &rid, addr);
    let body = serde_json::json!({});
    match state
        .bus
        .call(SERVICE, ep::START_VERIFICATION, &ctx, &body)
        .await
    {
        Reply::Ok { value, .. } => {
            let run: VerificationRun =
                serde_json::from_value(value).map_err(|_| ApiError(Problem::internal()))?;
            let location = format!("/api/v1/audit/verification?run_id={}", run.run_id);
            let mut response = (StatusCode::ACCEPTED, axum::Json(run)).into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            Ok(response)
        }
        Reply::Problem(p) => Err(ApiError(p)),
    }
}

/// The latest signed checkpoints (at most 100), with their public keys.
#[utoipa::path(get, path = "/audit/checkpoints", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "checkpoints, newest first", body = serde_json::Value),
              (status = 403, description = "not an audit reader", body = Problem, content_type = "application/problem+json")))]
pub async fn checkpoints(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
) -> Result<Response, ApiError> {
    call(
        &state,
        ep::CHECKPOINTS,
        &ctx(&signed, &rid, addr),
        &serde_json::json!({}),
        false,
    )
    .await
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

/// RFC 9162 inclusion proof of a record under a signed checkpoint.
#[utoipa::path(get, path = "/audit/proofs/inclusion", tag = "audit", security(("bearer" = [])),
    params(InclusionParams),
    responses((status = 200, description = "the record, its audit path and the checkpoint", body = InclusionProof),
              (status = 403, description = "not an audit reader", body = Problem, content_type = "application/problem+json")))]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Params(p): Params<InclusionParams>,
) -> Result<Response, ApiError> {
    let q = ProofQuery {
        seq: p.seq,
        first: None,
        tree_size: p.tree_size,
    };
    call(
        &state,
        ep::INCLUSION_PROOF,
        &ctx(&signed, &rid, addr),
        &q,
        false,
    )
    .await
}

/// RFC 9162 consistency proof between two signed checkpoints.
#[utoipa::path(get, path = "/audit/proofs/consistency", tag = "audit", security(("bearer" = [])),
    params(ConsistencyParams),
    responses((status = 200, description = "both checkpoints and the proof", body = ConsistencyProof),
              (status = 403, description = "not an audit reader", body = Problem, content_type = "application/problem+json")))]
pub async fn consistency_proof(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Params(p): Params<ConsistencyParams>,
) -> Result<Response, ApiError> {
    let q = ProofQuery {
        seq: None,
        first: p.first,
        tree_size: p.tree_size,
    };
    call(
        &state,
        ep::CONSISTENCY_PROOF,
        &ctx(&signed, &rid, addr),
        &q,
        false,
    )
    .await
}

/// A time window of raw events.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReplayParams {
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Until (RFC 3339, exclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Continue after this audit stream sequence (the previous page's `Tsunagu-Next-After`).
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// Events per page, 1–1000 (default 200).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Replay: the raw events of the audit stream in a time window, as NDJSON
/// (`{"sequence": …, "event": …}` per line), paged by sequence.
#[utoipa::path(get, path = "/audit/replay", tag = "audit", security(("bearer" = [])),
    params(ReplayParams),
    responses((status = 200, description = "NDJSON; the next page starts after the `Tsunagu-Next-After` header", body = String, content_type = "application/x-ndjson"),
              (status = 403, description = "not an auditor", body = Problem, content_type = "application/problem+json")))]
pub async fn replay(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Params(p): Params<ReplayParams>,
) -> Result<Response, ApiError> {
    let q = ReplayQuery {
        from: p.from,
        to: p.to,
        after: p.after,
        limit: p.limit,
    };
    call(&state, ep::REPLAY, &ctx(&signed, &rid, addr), &q, true).await
}

/// A period of break-glass alerts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Until (RFC 3339, exclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Records after this place in the log (the previous page's `next_after`).
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Break-glass alerts: every opening of a patient without consent (with its reason) and
/// every access it allowed. The coordination centre sees its municipality's patients,
/// auditors the region.
#[utoipa::path(get, path = "/break-glass-alerts", tag = "audit", security(("bearer" = [])),
    params(AlertParams),
    responses((status = 200, description = "the alerts, oldest first", body = RecordPage),
              (status = 403, description = "not the coordination centre or an auditor", body = Problem, content_type = "application/problem+json")))]
pub async fn break_glass_alerts(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Params(p): Params<AlertParams>,
) -> Result<Response, ApiError> {
    let q = AlertQuery {
        from: p.from,
        to: p.to,
        after: p.after,
        limit: p.limit,
    };
    call(
        &state,
        ep::BREAK_GLASS_ALERTS,
        &ctx(&signed, &rid, addr),
        &q,
        false,
    )
    .await
}
