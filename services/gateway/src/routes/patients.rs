//! Patients, their consents and care teams. The gateway lets a caller through by role (the
//! access table); whether they may see *this* patient is decided by the identity service
//! with the one access decision (consent, team, break-glass), which also records the access.
//! The client's address travels with every call, so the access record names it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use identity_api::SERVICE;
use identity_api::municipalities::Page;
use identity_api::patients::endpoints as ep;
use identity_api::patients::*;
use problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::forward;
use crate::auth::Signed;
use crate::error::ApiError;
use crate::extract::{Body, ClientAddr, MinPosition, Params, RequestId};
use crate::routes::municipalities::{ReadAfter, Written};
use crate::state::AppState;

/// A patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PatientPath {
    /// The patient's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub patient_id: String,
}

/// A consent of a patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConsentPath {
    /// The patient's id.
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub patient_id: String,
    /// The consent's id.
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub consent_id: String,
}

/// A seat on a patient's team in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SeatPath {
    /// The patient's id.
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub patient_id: String,
    /// The seat's id.
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub membership_id: String,
}

/// A family contact of a patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FamilyContactPath {
    /// The patient's id.
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub patient_id: String,
    /// The contact's id.
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub contact_id: String,
}

/// Which version of a consent the secretariat verified against the paper form.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentVersionChecked {
    /// The version verified (the one recorded last, normally).
    #[schema(minimum = 1)]
    pub version: u32,
}

/// When a seat on the team ended (now, if absent).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeatEnding {
    /// When the seat ended (RFC 3339); now when absent.
    #[param(value_type = Option<String>, format = DateTime, nullable = false)]
    pub effective_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Which moment and which reading of the past.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PastMoment {
    /// The moment asked about (RFC 3339).
    #[param(value_type = String, format = DateTime)]
    pub at: chrono::DateTime<chrono::Utc>,
    /// `in_force_as_known_today`: what was in force then according to everything recorded
    /// since; `as_known_then`: only what the platform had recorded by then.
    #[param(value_type = String, pattern = "^(in_force_as_known_today|as_known_then)$")]
    pub reading: consent::Reading,
}

fn patient_context(
    signed: &Signed,
    rid: &RequestId,
    min: MinPosition,
    addr: ClientAddr,
) -> bus::CallContext {
    signed.context_after(rid, min).from_address(addr.0)
}

/// Register a patient: by a site that will be on their team (care management office,
/// hospital liaison office, community support centre) or by the secretariat. A patient with
/// the same reading and date of birth in the municipality is a warning, not a block.
#[utoipa::path(post, path = "/patients", tag = "patients", security(("bearer" = [])),
    request_body = NewPatient,
    responses((status = 201, description = "registered", body = PatientRegistration)))]
pub async fn register_patient(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Body(body): Body<NewPatient>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    forward(
        &state,
        SERVICE,
        ep::REGISTER_PATIENT,
        &ctx,
        &body,
        StatusCode::CREATED,
    )
    .await
}

/// A patient's registration data: that they are registered, where, the consents' status
/// and the team. No clinical content. Every read is recorded.
#[utoipa::path(get, path = "/patients/{patient_id}", tag = "patients", security(("bearer" = [])),
    params(PatientPath, ReadAfter),
    responses((status = 200, description = "the registration", body = PatientRegistrationView)))]
pub async fn get_patient(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, min, addr);
    let q = GetPatientRegistration { patient_id };
    forward(
        &state,
        SERVICE,
        ep::GET_PATIENT_REGISTRATION,
        &ctx,
        &q,
        StatusCode::OK,
    )
    .await
}

/// The patient moved to another municipality (their id stays; their history is kept).
#[utoipa::path(post, path = "/patients/{patient_id}/moves", tag = "patients", security(("bearer" = [])),
    params(PatientPath), request_body = PatientMove,
    responses((status = 201, description = "moved", body = Written)))]
pub async fn move_patient(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(change): Body<PatientMove>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = MovePatient { patient_id, change };
    forward(
        &state,
        SERVICE,
        ep::MOVE_PATIENT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// A new care level certification (要支援・要介護) with its validity period.
#[utoipa::path(post, path = "/patients/{patient_id}/care-level", tag = "patients", security(("bearer" = [])),
    params(PatientPath), request_body = CareLevelCertification,
    responses((status = 201, description = "certified", body = Written)))]
pub async fn certify_care_level(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(certification): Body<CareLevelCertification>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = CertifyCareLevel {
        patient_id,
        certification,
    };
    forward(
        &state,
        SERVICE,
        ep::CERTIFY_CARE_LEVEL,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// End of care (death, or admission to a facility outside the network): the team closes
/// and all access but the auditors' ends.
#[utoipa::path(post, path = "/patients/{patient_id}/end-of-care", tag = "patients", security(("bearer" = [])),
    params(PatientPath), request_body = CareEnding,
    responses((status = 201, description = "care ended", body = Written)))]
pub async fn end_care(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(ending): Body<CareEnding>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = EndCare { patient_id, ending };
    forward(&state, SERVICE, ep::END_CARE, &ctx, &c, StatusCode::CREATED).await
}

/// Record a signed consent form as received by a site: pending until the secretariat
/// verifies it.
#[utoipa::path(post, path = "/patients/{patient_id}/consents", tag = "consents", security(("bearer" = [])),
    params(PatientPath), request_body = ConsentDetails,
    responses((status = 201, description = "recorded, pending verification", body = serde_json::Value)))]
pub async fn record_consent(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(details): Body<ConsentDetails>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = RecordConsent {
        patient_id,
        details,
    };
    forward(
        &state,
        SERVICE,
        ep::RECORD_CONSENT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// Amend a consent: a new version. Narrowing takes effect at once; widening waits for
/// the secretariat.
#[utoipa::path(post, path = "/patients/{patient_id}/consents/{consent_id}/amendments", tag = "consents", security(("bearer" = [])),
    params(ConsentPath), request_body = ConsentDetails,
    responses((status = 201, description = "a new version", body = serde_json::Value)))]
pub async fn amend_consent(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(ConsentPath {
        patient_id,
        consent_id,
    }): Path<ConsentPath>,
    Body(details): Body<ConsentDetails>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = AmendConsent {
        patient_id,
        consent_id,
        details,
    };
    forward(
        &state,
        SERVICE,
        ep::AMEND_CONSENT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// The secretariat verified the form: the version becomes active.
#[utoipa::path(post, path = "/patients/{patient_id}/consents/{consent_id}/verification", tag = "consents", security(("bearer" = [])),
    params(ConsentPath), request_body = ConsentVersionChecked,
    responses((status = 201, description = "active", body = Written)))]
pub async fn verify_consent(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(ConsentPath {
        patient_id,
        consent_id,
    }): Path<ConsentPath>,
    Body(checked): Body<ConsentVersionChecked>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = VerifyConsent {
        patient_id,
        consent_id,
        version: checked.version,
    };
    forward(
        &state,
        SERVICE,
        ep::VERIFY_CONSENT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// The secretariat refused a pending version (e.g. the signature is missing).
#[utoipa::path(post, path = "/patients/{patient_id}/consents/{consent_id}/rejection", tag = "consents", security(("bearer" = [])),
    params(ConsentPath), request_body = ConsentRejection,
    responses((status = 201, description = "rejected", body = Written)))]
pub async fn reject_consent(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(ConsentPath {
        patient_id,
        consent_id,
    }): Path<ConsentPath>,
    Body(rejection): Body<ConsentRejection>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = RejectConsent {
        patient_id,
        consent_id,
        rejection,
    };
    forward(
        &state,
        SERVICE,
        ep::REJECT_CONSENT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// The patient withdrew the consent: refused for everyone from the next request on.
#[utoipa::path(post, path = "/patients/{patient_id}/consents/{consent_id}/withdrawal", tag = "consents", security(("bearer" = [])),
    params(ConsentPath), request_body = ConsentWithdrawal,
    responses((status = 201, description = "withdrawn", body = Written)))]
pub async fn withdraw_consent(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(ConsentPath {
        patient_id,
        consent_id,
    }): Path<ConsentPath>,
    Body(withdrawal): Body<ConsentWithdrawal>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = WithdrawConsent {
        patient_id,
        consent_id,
        withdrawal,
    };
    forward(
        &state,
        SERVICE,
        ep::WITHDRAW_CONSENT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// Add a site (and optionally one of its members) to the patient's team, with their part.
#[utoipa::path(post, path = "/patients/{patient_id}/team", tag = "care team", security(("bearer" = [])),
    params(PatientPath), request_body = NewTeamMember,
    responses((status = 201, description = "on the team", body = serde_json::Value)))]
pub async fn add_team_member(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(seat): Body<NewTeamMember>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = AddTeamMember { patient_id, seat };
    forward(
        &state,
        SERVICE,
        ep::ADD_TEAM_MEMBER,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// Remove a seat from the patient's team.
#[utoipa::path(delete, path = "/patients/{patient_id}/team/{membership_id}", tag = "care team", security(("bearer" = [])),
    params(SeatPath, SeatEnding),
    responses((status = 200, description = "off the team", body = Written)))]
pub async fn remove_team_member(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(SeatPath {
        patient_id,
        membership_id,
    }): Path<SeatPath>,
    Params(ending): Params<SeatEnding>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = RemoveTeamMember {
        patient_id,
        membership_id,
        effective_at: ending.effective_at,
    };
    forward(
        &state,
        SERVICE,
        ep::REMOVE_TEAM_MEMBER,
        &ctx,
        &c,
        StatusCode::OK,
    )
    .await
}

/// The team's 24-hour contact (usually the visiting nursing station's on-call phone).
#[utoipa::path(put, path = "/patients/{patient_id}/contact-24h", tag = "care team", security(("bearer" = [])),
    params(PatientPath), request_body = Contact24h,
    responses((status = 200, description = "set", body = Written)))]
pub async fn set_contact_24h(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(contact): Body<Contact24h>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = SetContact24h {
        patient_id,
        contact: Some(contact),
    };
    forward(
        &state,
        SERVICE,
        ep::SET_CONTACT_24H,
        &ctx,
        &c,
        StatusCode::OK,
    )
    .await
}

/// A family contact (not a user of the platform).
#[utoipa::path(post, path = "/patients/{patient_id}/family-contacts", tag = "care team", security(("bearer" = [])),
    params(PatientPath), request_body = FamilyContact,
    responses((status = 201, description = "added", body = serde_json::Value)))]
pub async fn add_family_contact(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(contact): Body<FamilyContact>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = AddFamilyContact {
        patient_id,
        contact,
    };
    forward(
        &state,
        SERVICE,
        ep::ADD_FAMILY_CONTACT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// Remove a family contact.
#[utoipa::path(delete, path = "/patients/{patient_id}/family-contacts/{contact_id}", tag = "care team", security(("bearer" = [])),
    params(FamilyContactPath),
    responses((status = 200, description = "removed", body = Written)))]
pub async fn remove_family_contact(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(FamilyContactPath {
        patient_id,
        contact_id,
    }): Path<FamilyContactPath>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = RemoveFamilyContact {
        patient_id,
        contact_id,
    };
    forward(
        &state,
        SERVICE,
        ep::REMOVE_FAMILY_CONTACT,
        &ctx,
        &c,
        StatusCode::OK,
    )
    .await
}

/// Break-glass: a clinical professional opens a patient without consent in an emergency
/// (to protect life and body). A reason is required; it ends by itself (4 hours unless
/// fewer minutes are asked); every use is flagged to the coordination centre and auditors.
#[utoipa::path(post, path = "/patients/{patient_id}/break-glass", tag = "patients", security(("bearer" = [])),
    params(PatientPath), request_body = BreakGlassRequest,
    responses((status = 201, description = "opened until expires_at", body = serde_json::Value)))]
pub async fn open_break_glass(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(request): Body<BreakGlassRequest>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = OpenBreakGlass {
        patient_id,
        request,
    };
    forward(
        &state,
        SERVICE,
        ep::OPEN_BREAK_GLASS,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// Who could see this patient at a past moment (which categories), and why — in the
/// reading asked: in force then as known today, or as the platform knew then.
#[utoipa::path(get, path = "/patients/{patient_id}/who-could-see", tag = "patients", security(("bearer" = [])),
    params(PatientPath, PastMoment),
    responses((status = 200, description = "the answer, with reasons", body = serde_json::Value)))]
pub async fn who_could_see(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Params(moment): Params<PastMoment>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let q = WhoCouldSeeQuery {
        patient_id,
        at: moment.at,
        reading: moment.reading,
    };
    forward(&state, SERVICE, ep::WHO_COULD_SEE, &ctx, &q, StatusCode::OK).await
}

/// A document to attach: a file you uploaded (`POST /api/v1/files`), what kind of data it
/// holds (the consent category that gates it) and its title.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    /// The category of data the document holds.
    #[schema(schema_with = identity_api::closed_lists::data_category)]
    pub category: consent::DataCategory,
    /// The file's SHA-256 (lowercase hex), as the upload answered; you or your site must
    /// hold it.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    /// Title (personal data: sealed with the patient's key).
    #[schema(min_length = 1, max_length = 200, example = "退院時サマリー")]
    pub title: String,
}

/// A document of a patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DocumentPath {
    /// The patient's id.
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub patient_id: String,
    /// The document's id.
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub document_id: String,
}

/// What a record read asks for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordParams {
    /// The categories wanted, comma-separated (e.g. `care_records,documents`); the answer
    /// holds those the consent covers.
    #[param(
        example = "care_records,documents",
        pattern = "^(care_records|medication|lab_results|documents|care_plan|photos_video)(,(care_records|medication|lab_results|documents|care_plan|photos_video))*$"
    )]
    pub categories: String,
    /// Why: `care` (default) or `emergency` (break-glass). `audit` and `administration`
    /// are purposes too, and clinical content is never served for them (refused, recorded).
    #[param(value_type = Option<String>, pattern = "^(care|emergency|audit|administration)$", nullable = false)]
    pub purpose: Option<consent::Purpose>,
}

/// Why a document is fetched.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PurposeParams {
    /// `care` (default) or `emergency` (break-glass). `audit` and `administration`
    /// are purposes too, and clinical content is never served for them (refused, recorded).
    #[param(value_type = Option<String>, pattern = "^(care|emergency|audit|administration)$", nullable = false)]
    pub purpose: Option<consent::Purpose>,
}

/// Erasure: why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureReason {
    /// Why the personal data is erased (e.g. the retention period ended).
    #[schema(min_length = 1, max_length = 500, example = "保存期間満了")]
    pub reason: String,
}

fn categories(text: &str) -> Result<Vec<consent::DataCategory>, ApiError> {
    text.split(',')
        .map(|c| {
            serde_json::from_value(serde_json::Value::String(c.trim().to_owned())).map_err(|_| {
                let detail = format!("{c:?} is not a data category");
                ApiError(
                    problem::Problem::new(400, "invalid-query", "A query parameter is invalid")
                        .with_detail(detail.clone())
                        .with_field("/categories", detail),
                )
            })
        })
        .collect()
}

/// Attach a file you uploaded to the patient's record, as data of one category: allowed
/// through consent (write) or break-glass.
#[utoipa::path(post, path = "/patients/{patient_id}/documents", tag = "patients", security(("bearer" = [])),
    params(PatientPath), request_body = NewDocument,
    responses((status = 201, description = "attached", body = AttachedDocument)))]
pub async fn attach_document(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(doc): Body<NewDocument>,
) -> Result<Response, ApiError> {
    let Signed::Member(caller) = &signed else {
        return Err(problem::Problem::forbidden("documents are attached by members").into());
    };
    // A digest is not a permission: only a file the caller (or their site) holds, and its
    // type and size as the store decided them, never as the client says.
    let holders = super::files::holders(caller);
    let not_yours = || {
        ApiError(problem::Problem::invalid_field(
            "/sha256",
            "no file you or your site uploaded has this digest",
        ))
    };
    if !blob_store::is_sha256_hex(&doc.sha256)
        || !state
            .blobs
            .held_by_any(&doc.sha256, &holders)
            .await
            .map_err(super::files::problem)?
    {
        return Err(not_yours());
    }
    let Some((blob, _)) = state
        .blobs
        .get(&doc.sha256)
        .await
        .map_err(super::files::problem)?
    else {
        return Err(not_yours());
    };
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = AttachDocument {
        patient_id,
        category: doc.category,
        sha256: blob.sha256,
        media_type: blob.media_type,
        size: blob.size,
        title: doc.title,
    };
    forward(
        &state,
        SERVICE,
        ep::ATTACH_DOCUMENT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// The patient's record for the categories asked: personal data and the documents of
/// the categories the consent covers (or break-glass opens), with the basis of the
/// decision. Every read, allowed or refused, is recorded.
#[utoipa::path(get, path = "/patients/{patient_id}/record", tag = "patients", security(("bearer" = [])),
    params(PatientPath, RecordParams, ReadAfter),
    responses((status = 200, description = "what the consent covers", body = PatientRecordView)))]
pub async fn read_record(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Params(p): Params<RecordParams>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, min, addr);
    let q = ReadPatientRecord {
        patient_id,
        categories: categories(&p.categories)?,
        purpose: p.purpose.unwrap_or(consent::Purpose::Care),
    };
    forward(
        &state,
        SERVICE,
        ep::READ_PATIENT_RECORD,
        &ctx,
        &q,
        StatusCode::OK,
    )
    .await
}

/// A document's content, streamed, once the access decision allows its category (and the
/// access is recorded).
#[utoipa::path(get, path = "/patients/{patient_id}/documents/{document_id}/content", tag = "patients", security(("bearer" = [])),
    params(DocumentPath, PurposeParams),
    responses((status = 200, description = "the document", body = super::files::FileContent, content_type = "*/*")))]
pub async fn document_content(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(DocumentPath {
        patient_id,
        document_id,
    }): Path<DocumentPath>,
    Params(p): Params<PurposeParams>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let q = OpenDocument {
        patient_id,
        document_id,
        purpose: p.purpose.unwrap_or(consent::Purpose::Care),
    };
    let value = match state.bus.call(SERVICE, ep::OPEN_DOCUMENT, &ctx, &q).await {
        bus::Reply::Ok { value, .. } => value,
        bus::Reply::Problem(p) => return Err(ApiError(p)),
    };
    let doc: DocumentBlob =
        serde_json::from_value(value).map_err(|_| ApiError(problem::Problem::internal()))?;
    let Some((blob, content)) = state
        .blobs
        .get(&doc.sha256)
        .await
        .map_err(super::files::problem)?
    else {
        return Err(problem::Problem::unavailable("the document's file is missing").into());
    };
    super::files::streamed(&blob, content)
}

/// Erase the patient's personal data: their key is destroyed, so names, addresses and
/// titles can never be read again from any event, replay or rebuild; the history stays.
#[utoipa::path(post, path = "/patients/{patient_id}/erasure", tag = "patients", security(("bearer" = [])),
    params(PatientPath), request_body = ErasureReason,
    responses((status = 201, description = "erased", body = PatientErasure)))]
pub async fn erase_patient(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(erasure): Body<ErasureReason>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, MinPosition(None), addr);
    let c = ErasePatient {
        patient_id,
        reason: erasure.reason,
    };
    forward(
        &state,
        SERVICE,
        ep::ERASE_PATIENT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// Paging of a list of patients.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PatientListParams {
    /// The last patient id of the previous page (its `next_after`).
    #[param(
        pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        nullable = false
    )]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// The patients whose care team you are on (a seat of yours or of your site), by id, with
/// your part on each team. Their name is shown when the consent lets you see it; when not,
/// `withheld` says why (e.g. `consent_pending`). Each patient listed is recorded as an
/// access.
#[utoipa::path(get, path = "/me/patients", tag = "patients", security(("bearer" = [])),
    params(PatientListParams),
    responses((status = 200, description = "a page of your patients", body = Page<MyPatient>)))]
pub async fn my_patients(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    min: MinPosition,
    Params(p): Params<PatientListParams>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, min, addr);
    let q = ListMyPatients {
        after: p.after,
        limit: p.limit,
    };
    forward(
        &state,
        SERVICE,
        ep::LIST_MY_PATIENTS,
        &ctx,
        &q,
        StatusCode::OK,
    )
    .await
}

/// The municipality in the path of its patient list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MunicipalityPatientsPath {
    /// Local government code (6 digits, the last a check digit).
    #[param(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub code: String,
}

/// Paging and the one filter of a municipality's patient list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MunicipalityPatientParams {
    /// `true`: only patients with a consent version waiting for verification.
    #[param(nullable = false)]
    pub waiting: Option<bool>,
    /// The last patient id of the previous page (its `next_after`).
    #[param(
        pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        nullable = false
    )]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// A municipality's patients for its secretariat: registration data only (consents and their
/// status, the team, the 24-hour contact — no name, no clinical content), by id. Each
/// patient listed is recorded as an access.
#[utoipa::path(get, path = "/municipalities/{code}/patients", tag = "patients", security(("bearer" = [])),
    params(MunicipalityPatientsPath, MunicipalityPatientParams),
    responses((status = 200, description = "a page of the municipality's patients", body = Page<PatientRegistrationView>),
              (status = 403, description = "not this municipality's secretariat", body = Problem, content_type = "application/problem+json")))]
pub async fn municipality_patients(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    min: MinPosition,
    Path(MunicipalityPatientsPath { code }): Path<MunicipalityPatientsPath>,
    Params(p): Params<MunicipalityPatientParams>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, min, addr);
    let q = ListMunicipalityPatients {
        municipality: code,
        waiting: p.waiting.unwrap_or(false),
        after: p.after,
        limit: p.limit,
    };
    forward(
        &state,
        SERVICE,
        ep::LIST_MUNICIPALITY_PATIENTS,
        &ctx,
        &q,
        StatusCode::OK,
    )
    .await
}
