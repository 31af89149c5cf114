//! The routes of patients, their consents and care teams. The gateway lets a caller through
//! by role; whether they may see *this* patient is decided by the identity service with the
//! one access decision (consent, team, break-glass), which also records the access.

use doors::{
    BodyId, Content, Declared, Door, FileContent, Object, PathId, PathIds, Route, Written,
};
use permissions::Action;
use problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::endpoints as ep;
use super::*;
use crate::SERVICE;
use crate::municipalities::routes::CodePath;

const PATIENTS: &str = "patients";
const CONSENTS: &str = "consents";
const TEAM: &str = "care team";
const REGISTRATION: Door = Door::Signed(&[Action::RegisterPatient, Action::ManageCareTeam]);
const MANAGE_TEAM: Door = Door::Signed(&[Action::ManageCareTeam]);

/// A patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PatientPath {
    /// The patient's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub patient_id: String,
}

impl PathIds for PatientPath {
    const IDS: &'static [PathId] = &[PathId::new("patient_id", Object::Patient)];
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

impl PathIds for ConsentPath {
    const IDS: &'static [PathId] = &[
        PathId::new("patient_id", Object::Patient),
        PathId::new("consent_id", Object::Consent),
    ];
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

impl PathIds for SeatPath {
    const IDS: &'static [PathId] = &[
        PathId::new("patient_id", Object::Patient),
        PathId::new("membership_id", Object::TeamSeat),
    ];
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

impl PathIds for FamilyContactPath {
    const IDS: &'static [PathId] = &[
        PathId::new("patient_id", Object::Patient),
        PathId::new("contact_id", Object::FamilyContact),
    ];
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

impl PathIds for DocumentPath {
    const IDS: &'static [PathId] = &[
        PathId::new("patient_id", Object::Patient),
        PathId::new("document_id", Object::Document),
    ];
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

/// A document to attach: a file you uploaded (`POST /api/v1/files`), what kind of data it
/// holds (the consent category that gates it) and its title.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    /// The category of data the document holds.
    #[schema(schema_with = crate::closed_lists::data_category)]
    pub category: consent::DataCategory,
    /// The file's SHA-256 (lowercase hex), as the upload answered; you or your site must
    /// hold it.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    /// Title (personal data: sealed with the patient's key).
    #[schema(min_length = 1, max_length = 200, example = "退院時サマリー")]
    pub title: String,
    /// Why: `care` (default: through the consent, as a read of the category would be) or
    /// `emergency` (through your break-glass access). A write is decided exactly as the read
    /// of its category for the same purpose.
    #[serde(default)]
    #[schema(schema_with = crate::closed_lists::purpose, nullable = false)]
    pub purpose: Option<consent::Purpose>,
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

/// The categories of a comma-separated list, naming `/categories` for one that is not.
fn categories(text: &str) -> Result<Vec<DataCategory>, Problem> {
    text.split(',')
        .map(|c| {
            serde_json::from_value(serde_json::Value::String(c.trim().to_owned())).map_err(|_| {
                let detail = format!("{c:?} is not a data category");
                Problem::new(400, "invalid-query", "A query parameter is invalid")
                    .with_detail(detail.clone())
                    .with_field("/categories", detail)
            })
        })
        .collect()
}

/// Why a care team crosses municipalities: wide-area cooperation, decided by the patient's
/// municipality and covered by the patient's consent.
const WIDE_AREA: &str = "a patient's care team may hold sites of several municipalities (wide-area cooperation), decided for the patient and covered by their consent";

/// The ids of a consent form: the site that received it is the caller's municipality's;
/// the sites the consent covers or excludes are the patient's choice, of any municipality.
const CONSENT_IDS: &[BodyId] = &[
    BodyId::own("/received_at_site", Object::Site),
    BodyId::crossing("/model/excluded/*", Object::Site, CHOSEN_SITES),
    BodyId::crossing("/model/sites/*", Object::Site, CHOSEN_SITES),
    BodyId::crossing("/model/site", Object::Site, CHOSEN_SITES),
    BodyId::own("/scanned_form", Object::File),
];

/// Why a consent names other municipalities' sites.
const CHOSEN_SITES: &str = "the sites a consent covers are the patient's choice, among the sites of their team in any municipality";

pub fn routes() -> Vec<Declared> {
    vec![
        Route::post("register_patient", "/api/v1/patients")
            .tag(PATIENTS)
            .summary("Register a patient: by a site that will be on their team (care management office, hospital liaison office, community support centre) or by the secretariat. A patient with the same reading and date of birth in the municipality is a warning, not a block.")
            .door(Door::Signed(&[Action::RegisterPatient]))
            .body::<NewPatient>()
            .body_ids(const { &[BodyId::crossing("/home_municipality", Object::Municipality, "a care site registers a patient of any municipality it serves (teams span municipalities); a secretariat only its own, held by the service"), BodyId::own("/registering_site", Object::Site)] })
            .service(SERVICE, ep::REGISTER_PATIENT, |_, _, body| Ok(body))
            .answers::<PatientRegistration>(201, "registered")
            .into(),
        Route::get("get_patient", "/api/v1/patients/{patient_id}")
            .tag(PATIENTS)
            .summary("A patient's registration data: that they are registered, where, the consents' status and the team. No clinical content. Every read is recorded.")
            .door(Door::PatientRead)
            .path::<PatientPath>()
            .service(SERVICE, ep::GET_PATIENT_REGISTRATION, |p, _, _| {
                Ok(GetPatientRegistration {
                    patient_id: p.patient_id,
                })
            })
            .reads_after()
            .answers::<PatientRegistrationView>(200, "the registration")
            .into(),
        Route::post("move_patient", "/api/v1/patients/{patient_id}/moves")
            .tag(PATIENTS)
            .summary("The patient moved to another municipality (their id stays; their history is kept).")
            .door(REGISTRATION)
            .path::<PatientPath>()
            .body::<PatientMove>()
            .body_ids(const { &[BodyId::crossing("/home_municipality", Object::Municipality, "a move names the municipality the patient moved to")] })
            .service(SERVICE, ep::MOVE_PATIENT, |p, _, change| {
                Ok(MovePatient {
                    patient_id: p.patient_id,
                    change,
                })
            })
            .answers::<Written>(201, "moved")
            .into(),
        Route::post("certify_care_level", "/api/v1/patients/{patient_id}/care-level")
            .tag(PATIENTS)
            .summary("A new care level certification (要支援・要介護) with its validity period.")
            .door(REGISTRATION)
            .path::<PatientPath>()
            .body::<CareLevelCertification>()
            .service(SERVICE, ep::CERTIFY_CARE_LEVEL, |p, _, certification| {
                Ok(CertifyCareLevel {
                    patient_id: p.patient_id,
                    certification,
                })
            })
            .answers::<Written>(201, "certified")
            .into(),
        Route::post("end_care", "/api/v1/patients/{patient_id}/end-of-care")
            .tag(PATIENTS)
            .summary("End of care (death, or admission to a facility outside the network): the team closes and all access but the auditors' ends.")
            .door(REGISTRATION)
            .path::<PatientPath>()
            .body::<CareEnding>()
            .service(SERVICE, ep::END_CARE, |p, _, ending| {
                Ok(EndCare {
                    patient_id: p.patient_id,
                    ending,
                })
            })
            .answers::<Written>(201, "care ended")
            .into(),
        Route::post("record_consent", "/api/v1/patients/{patient_id}/consents")
            .tag(CONSENTS)
            .summary("Record a signed consent form as received by a site: pending until the secretariat verifies it.")
            .door(Door::Signed(&[Action::RecordConsent]))
            .path::<PatientPath>()
            .body::<ConsentDetails>()
            .body_ids(CONSENT_IDS)
            .service(SERVICE, ep::RECORD_CONSENT, |p, _, details| {
                Ok(RecordConsent {
                    patient_id: p.patient_id,
                    details,
                })
            })
            .answers::<serde_json::Value>(201, "recorded, pending verification")
            .into(),
        Route::post(
            "amend_consent",
            "/api/v1/patients/{patient_id}/consents/{consent_id}/amendments",
        )
        .tag(CONSENTS)
        .summary("Amend a consent: a new version. Narrowing takes effect at once; widening waits for the secretariat.")
        .door(Door::Signed(&[Action::RecordConsent]))
        .path::<ConsentPath>()
        .body::<ConsentDetails>()
        .body_ids(CONSENT_IDS)
        .service(SERVICE, ep::AMEND_CONSENT, |p, _, details| {
            Ok(AmendConsent {
                patient_id: p.patient_id,
                consent_id: p.consent_id,
                details,
            })
        })
        .answers::<serde_json::Value>(201, "a new version")
        .into(),
        Route::post(
            "verify_consent",
            "/api/v1/patients/{patient_id}/consents/{consent_id}/verification",
        )
        .tag(CONSENTS)
        .summary("The secretariat verified the form: the version becomes active.")
        .door(Door::Signed(&[Action::VerifyConsent]))
        .path::<ConsentPath>()
        .body::<ConsentVersionChecked>()
        .service(SERVICE, ep::VERIFY_CONSENT, |p, _, checked| {
            Ok(VerifyConsent {
                patient_id: p.patient_id,
                consent_id: p.consent_id,
                version: checked.version,
            })
        })
        .answers::<Written>(201, "active")
        .into(),
        Route::post(
            "reject_consent",
            "/api/v1/patients/{patient_id}/consents/{consent_id}/rejection",
        )
        .tag(CONSENTS)
        .summary("The secretariat refused a pending version (e.g. the signature is missing).")
        .door(Door::Signed(&[Action::VerifyConsent]))
        .path::<ConsentPath>()
        .body::<ConsentRejection>()
        .service(SERVICE, ep::REJECT_CONSENT, |p, _, rejection| {
            Ok(RejectConsent {
                patient_id: p.patient_id,
                consent_id: p.consent_id,
                rejection,
            })
        })
        .answers::<Written>(201, "rejected")
        .into(),
        Route::post(
            "withdraw_consent",
            "/api/v1/patients/{patient_id}/consents/{consent_id}/withdrawal",
        )
        .tag(CONSENTS)
        .summary("The patient withdrew the consent: refused for everyone from the next request on.")
        .door(Door::Signed(&[Action::WithdrawConsent]))
        .path::<ConsentPath>()
        .body::<ConsentWithdrawal>()
        .service(SERVICE, ep::WITHDRAW_CONSENT, |p, _, withdrawal| {
            Ok(WithdrawConsent {
                patient_id: p.patient_id,
                consent_id: p.consent_id,
                withdrawal,
            })
        })
        .answers::<Written>(201, "withdrawn")
        .into(),
        Route::post("add_team_member", "/api/v1/patients/{patient_id}/team")
            .tag(TEAM)
            .summary("Add a site (and optionally one of its members) to the patient's team, with their part.")
            .door(MANAGE_TEAM)
            .path::<PatientPath>()
            .body::<NewTeamMember>()
            .body_ids(const { &[BodyId::crossing("/site", Object::Site, WIDE_AREA), BodyId::crossing("/member", Object::Member, "a person working at the seat's site, whichever municipality registered them; the service holds them to the site")] })
            .service(SERVICE, ep::ADD_TEAM_MEMBER, |p, _, seat| {
                Ok(AddTeamMember {
                    patient_id: p.patient_id,
                    seat,
                })
            })
            .answers::<serde_json::Value>(201, "on the team")
            .into(),
        Route::delete(
            "remove_team_member",
            "/api/v1/patients/{patient_id}/team/{membership_id}",
        )
        .tag(TEAM)
        .summary("Remove a seat from the patient's team.")
        .door(MANAGE_TEAM)
        .path::<SeatPath>()
        .query::<SeatEnding>()
        .service(SERVICE, ep::REMOVE_TEAM_MEMBER, |p, ending, _| {
            Ok(RemoveTeamMember {
                patient_id: p.patient_id,
                membership_id: p.membership_id,
                effective_at: ending.effective_at,
            })
        })
        .answers::<Written>(200, "off the team")
        .into(),
        Route::put("set_contact_24h", "/api/v1/patients/{patient_id}/contact-24h")
            .tag(TEAM)
            .summary("The team's 24-hour contact (usually the visiting nursing station's on-call phone).")
            .door(MANAGE_TEAM)
            .path::<PatientPath>()
            .body::<Contact24h>()
            .body_ids(const { &[BodyId::crossing("/site", Object::Site, "a site on the patient's care team, which may span municipalities; the service holds it to the team")] })
            .service(SERVICE, ep::SET_CONTACT_24H, |p, _, contact| {
                Ok(SetContact24h {
                    patient_id: p.patient_id,
                    contact: Some(contact),
                })
            })
            .answers::<Written>(200, "set")
            .into(),
        Route::post("add_family_contact", "/api/v1/patients/{patient_id}/family-contacts")
            .tag(TEAM)
            .summary("A family contact (not a user of the platform).")
            .door(MANAGE_TEAM)
            .path::<PatientPath>()
            .body::<FamilyContact>()
            .service(SERVICE, ep::ADD_FAMILY_CONTACT, |p, _, contact| {
                Ok(AddFamilyContact {
                    patient_id: p.patient_id,
                    contact,
                })
            })
            .answers::<serde_json::Value>(201, "added")
            .into(),
        Route::delete(
            "remove_family_contact",
            "/api/v1/patients/{patient_id}/family-contacts/{contact_id}",
        )
        .tag(TEAM)
        .summary("Remove a family contact.")
        .door(MANAGE_TEAM)
        .path::<FamilyContactPath>()
        .service(SERVICE, ep::REMOVE_FAMILY_CONTACT, |p, _, _| {
            Ok(RemoveFamilyContact {
                patient_id: p.patient_id,
                contact_id: p.contact_id,
            })
        })
        .answers::<Written>(200, "removed")
        .into(),
        Route::post("open_break_glass", "/api/v1/patients/{patient_id}/break-glass")
            .tag(PATIENTS)
            .summary("Break-glass: a clinical professional opens a patient without consent in an emergency (to protect life and body). A reason is required; it ends by itself (4 hours unless fewer minutes are asked); every use is flagged to the coordination centre and auditors.")
            .door(Door::Signed(&[Action::BreakGlass]))
            .path::<PatientPath>()
            .body::<BreakGlassRequest>()
            .service(SERVICE, ep::OPEN_BREAK_GLASS, |p, _, request| {
                Ok(OpenBreakGlass {
                    patient_id: p.patient_id,
                    request,
                })
            })
            .answers::<serde_json::Value>(201, "opened until expires_at")
            .into(),
        Route::get("who_could_see", "/api/v1/patients/{patient_id}/who-could-see")
            .tag(PATIENTS)
            .summary("Who could see this patient at a past moment (which categories), and why — in the reading asked: in force then as known today, or as the platform knew then.")
            .door(Door::PatientRead)
            .path::<PatientPath>()
            .query::<PastMoment>()
            .service(SERVICE, ep::WHO_COULD_SEE, |p, moment, _| {
                Ok(WhoCouldSeeQuery {
                    patient_id: p.patient_id,
                    at: moment.at,
                    reading: moment.reading,
                })
            })
            .answers::<serde_json::Value>(200, "the answer, with reasons")
            .into(),
        Route::get("read_record", "/api/v1/patients/{patient_id}/record")
            .tag(PATIENTS)
            .summary("The patient's record for the categories asked: personal data and the documents of the categories the consent covers (or break-glass opens), with the basis of the decision. Every read, allowed or refused, is recorded.")
            .door(Door::PatientRead)
            .path::<PatientPath>()
            .query::<RecordParams>()
            .service(SERVICE, ep::READ_PATIENT_RECORD, |p, q, _| {
                Ok(ReadPatientRecord {
                    patient_id: p.patient_id,
                    categories: categories(&q.categories)?,
                    purpose: q.purpose.unwrap_or(Purpose::Care),
                })
            })
            .reads_after()
            .answers::<PatientRecordView>(200, "what the consent covers")
            .into(),
        // Answered by the gateway: the file must be one the caller holds in the file store.
        Route::post("attach_document", "/api/v1/patients/{patient_id}/documents")
            .tag(PATIENTS)
            .summary("Attach a file you uploaded to the patient's record, as data of one category: allowed through consent (write) or break-glass.")
            .door(Door::Signed(&[Action::WritePatientClinical]))
            .path::<PatientPath>()
            .body::<NewDocument>()
            .body_ids(const { &[BodyId::own("/sha256", Object::File)] })
            .answers::<AttachedDocument>(201, "attached")
            .into(),
        // Answered by the gateway: the content streams from the file store.
        Route::get(
            "document_content",
            "/api/v1/patients/{patient_id}/documents/{document_id}/content",
        )
        .tag(PATIENTS)
        .summary("A document's content, streamed, once the access decision allows its category (and the access is recorded).")
        .door(Door::PatientRead)
        .path::<DocumentPath>()
        .query::<PurposeParams>()
        .answers_as(200, "the document", &[Content::of::<FileContent>("*/*")])
        .into(),
        Route::post("erase_patient", "/api/v1/patients/{patient_id}/erasure")
            .tag(PATIENTS)
            .summary("Erase the patient's personal data: their key is destroyed, so names, addresses and titles can never be read again from any event, replay or rebuild; the history stays.")
            .door(Door::Signed(&[Action::ErasePatientData]))
            .path::<PatientPath>()
            .body::<ErasureReason>()
            .service(SERVICE, ep::ERASE_PATIENT, |p, _, erasure| {
                Ok(ErasePatient {
                    patient_id: p.patient_id,
                    reason: erasure.reason,
                })
            })
            .answers::<PatientErasure>(201, "erased")
            .into(),
        Route::get("my_patients", "/api/v1/me/patients")
            .tag(PATIENTS)
            .summary("The patients whose care team you are on (a seat of yours or of your site), by id, with your part on each team. Their name is shown when the consent lets you see it; when not, `withheld` says why (e.g. `consent_pending`). Each patient listed is recorded as an access.")
            .door(Door::OwnAccount)
            .query::<PatientListParams>()
            .service(SERVICE, ep::LIST_MY_PATIENTS, |_, q, _| {
                Ok(ListMyPatients {
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers_page::<MyPatient>(200, "a page of your patients")
            .problems(&[(403, "the operator is on no care team")])
            .into(),
        Route::get(
            "municipality_patients",
            "/api/v1/municipalities/{code}/patients",
        )
        .tag(PATIENTS)
        .summary("A municipality's patients for its secretariat: registration data only (consents and their status, the team, the 24-hour contact — no name, no clinical content), by id. Each patient listed is recorded as an access.")
        .door(Door::Signed(&[Action::VerifyConsent]))
        .path::<CodePath>()
        .query::<MunicipalityPatientParams>()
        .service(SERVICE, ep::LIST_MUNICIPALITY_PATIENTS, |p, q, _| {
            Ok(ListMunicipalityPatients {
                municipality: p.code,
                waiting: q.waiting.unwrap_or(false),
                after: q.after,
                limit: q.limit,
            })
        })
        .reads_after()
        .answers_page::<PatientRegistrationView>(200, "a page of the municipality's patients")
        .problems(&[(403, "not this municipality's secretariat")])
        .into(),
    ]
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
