//! Patients, their consents and care teams: commands, views and the personal fields their
//! events carry.
//!
//! Everything about one patient — registration, consents, the care team, break-glass — is
//! one aggregate, `patient`, on one subject (`<ns>.identity.patient.<patient_id>`): who may
//! see a patient is one decision, and a service knows its facts are current when its
//! projection has reached that one subject's last sequence.
//!
//! **Personal fields.** Each patient event that carries personal data (names, date of birth,
//! address, insured number, care level, a proxy's name, family contacts) keeps all of it in
//! one field, `personal` ([`PERSONAL_FIELD`]), of one struct per event ([`PatientPersonal`],
//! [`NewAddress`], [`CareLevelCertification`], [`ConsentPersonal`], [`FamilyContact`]). The
//! service seals that field with the patient's key; once the key is destroyed it reads as
//! absent (`None`) and the rest of the event replays unchanged.
//!
//! The vocabulary of consent (models, categories, parts on the team, statuses) is the
//! `consent` crate's, so that every service decides with the same words it projects.

pub mod routes;

use chrono::{DateTime, NaiveDate, Utc};
use consent::{
    Basis, CategorySet, ConsentModel, ConsentStatus, DataCategory, FamilyRelationship, Purpose,
    TeamPart,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The aggregate type of a patient (and of their consents, team and break-glass grants).
pub const PATIENT: &str = "patient";

/// The name of the field that holds an event's personal data, sealed per patient.
pub const PERSONAL_FIELD: &str = "personal";

/// Endpoint names on the bus.
pub mod endpoints {
    /// Command: register a patient ([`super::NewPatient`]).
    pub const REGISTER_PATIENT: &str = "register_patient";
    /// Command: a patient moved to another municipality ([`super::MovePatient`]).
    pub const MOVE_PATIENT: &str = "move_patient";
    /// Command: record a (new) care level certification ([`super::CertifyCareLevel`]).
    pub const CERTIFY_CARE_LEVEL: &str = "certify_care_level";
    /// Command: end of care ([`super::EndCare`]).
    pub const END_CARE: &str = "end_care";
    /// Command: the receiving site records a signed consent form ([`super::RecordConsent`]).
    pub const RECORD_CONSENT: &str = "record_consent";
    /// Command: record an amendment of a consent ([`super::AmendConsent`]).
    pub const AMEND_CONSENT: &str = "amend_consent";
    /// Command: the secretariat verifies and activates a version ([`super::VerifyConsent`]).
    pub const VERIFY_CONSENT: &str = "verify_consent";
    /// Command: the secretariat refuses a pending version ([`super::RejectConsent`]).
    pub const REJECT_CONSENT: &str = "reject_consent";
    /// Command: the patient withdraws a consent ([`super::WithdrawConsent`]).
    pub const WITHDRAW_CONSENT: &str = "withdraw_consent";
    /// Command: add a seat to the care team ([`super::AddTeamMember`]).
    pub const ADD_TEAM_MEMBER: &str = "add_team_member";
    /// Command: remove a seat from the care team ([`super::RemoveTeamMember`]).
    pub const REMOVE_TEAM_MEMBER: &str = "remove_team_member";
    /// Command: set or clear the team's 24-hour contact ([`super::SetContact24h`]).
    pub const SET_CONTACT_24H: &str = "set_contact_24h";
    /// Command: add a family contact ([`super::AddFamilyContact`]).
    pub const ADD_FAMILY_CONTACT: &str = "add_family_contact";
    /// Command: remove a family contact ([`super::RemoveFamilyContact`]).
    pub const REMOVE_FAMILY_CONTACT: &str = "remove_family_contact";
    /// Command: open a patient in an emergency ([`super::OpenBreakGlass`]).
    pub const OPEN_BREAK_GLASS: &str = "open_break_glass";
    /// Query: a patient's registration data ([`super::GetPatientRegistration`]).
    pub const GET_PATIENT_REGISTRATION: &str = "get_patient_registration";
    /// Query: who could see a patient at a past moment ([`super::WhoCouldSeeQuery`]).
    pub const WHO_COULD_SEE: &str = "who_could_see";
    /// Command: attach a document (a blob already in the file store) to a patient's record,
    /// through consent ([`super::AttachDocument`]).
    pub const ATTACH_DOCUMENT: &str = "attach_document";
    /// Query: a patient's record — personal data and documents of the categories the
    /// decision allows ([`super::ReadPatientRecord`]).
    pub const READ_PATIENT_RECORD: &str = "read_patient_record";
    /// Query: may the caller fetch this document's blob, and which is it
    /// ([`super::OpenDocument`]).
    pub const OPEN_DOCUMENT: &str = "open_document";
    /// Command: erase a patient's personal data by destroying their key
    /// ([`super::ErasePatient`]).
    pub const ERASE_PATIENT: &str = "erase_patient";
    /// Query: the patients whose care team the caller is on ([`super::ListMyPatients`]).
    pub const LIST_MY_PATIENTS: &str = "list_my_patients";
    /// Query: a municipality's patients, registration data only
    /// ([`super::ListMunicipalityPatients`]).
    pub const LIST_MUNICIPALITY_PATIENTS: &str = "list_municipality_patients";
}

/// The key of the object that replaces an event's `personal` field once sealed:
/// `"personal": {"sealed": "<base64url>"}`. Readers without the patient's key read the
/// field as absent.
pub const SEALED: &str = "sealed";

/// The sealed text of a stored payload's `personal` field, if it holds one.
pub fn sealed_personal(payload: &serde_json::Value) -> Option<&str> {
    payload
        .get(PERSONAL_FIELD)?
        .as_object()
        .filter(|o| o.len() == 1)?
        .get(SEALED)?
        .as_str()
}

/// The context a patient event's personal field is sealed for: bound to the patient and the
/// event type, so a sealed field copied into another patient's (or another kind of) event
/// does not open there.
pub fn seal_context(patient_id: &str, event_type: &str) -> String {
    format!("patient:{patient_id}:{event_type}")
}

// ── words ───────────────────────────────────────────────────────────────────────────────

/// Sex, as on the insurance card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 男
    Male,
    /// 女
    Female,
    /// Not stated.
    NotStated,
}

/// Care level of the long-term care insurance (要介護度).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CareLevel {
    /// 要支援1
    SupportLevel1,
    /// 要支援2
    SupportLevel2,
    /// 要介護1
    CareLevel1,
    /// 要介護2
    CareLevel2,
    /// 要介護3
    CareLevel3,
    /// 要介護4
    CareLevel4,
    /// 要介護5
    CareLevel5,
}

/// A care level with the validity period of its certification (認定有効期間), dates inclusive.
/// Personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareLevelCertification {
    /// The level.
    pub level: CareLevel,
    /// First day of the certification.
    pub valid_from: NaiveDate,
    /// Last day of the certification.
    pub valid_until: NaiveDate,
}

/// Why care ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndOfCareReason {
    /// The patient died.
    Death,
    /// The patient was admitted to a facility outside the network.
    AdmittedOutsideNetwork,
}

/// Why a break-glass grant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakGlassEndReason {
    /// Its `expires_at` passed.
    Expired,
}

/// How a consent form arrived. Only written and electronic consents can be recorded:
/// `verbal` is accepted here so that the refusal can say why (special-care personal
/// information is shared only with consent in writing or electronically).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceivedForm {
    /// A signed paper form.
    Written,
    /// An electronic consent.
    Electronic,
    /// Told in words: refused.
    Verbal,
}

/// Who gave a consent, as the receiving site reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConsentGiver {
    /// The patient.
    Patient,
    /// A proxy for a patient who cannot give it: name and relationship required.
    Proxy {
        /// The proxy's name (personal data, sealed).
        #[schema(min_length = 1, max_length = 200, example = "出雲 一郎")]
        name: String,
        /// How they are related to the patient.
        #[serde(default)]
        #[schema(value_type = Option<String>, example = "child")]
        relationship: Option<FamilyRelationship>,
    },
}

/// The wire shape of `consent::ConsentModel`, for the API document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum ConsentModelSchema {
    /// 一括同意: every participating site now and in future, except those excluded.
    AllParticipatingSites {
        /// Site ids the patient excluded.
        excluded: Vec<String>,
    },
    /// These sites only.
    ListedSites {
        /// Site ids (at least one).
        sites: Vec<String>,
    },
    /// One site (one consent per site).
    SiteBySite {
        /// The site id.
        site: String,
    },
}

// ── personal fields (one struct per event, sealed whole) ────────────────────────────────

/// The personal fields of `PatientRegistered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientPersonal {
    /// Name in kanji, normalised.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Postal address.
    pub address: String,
    /// 被保険者番号: 10 ASCII digits.
    pub insured_number: String,
    /// The care level, if certified.
    pub care_level: Option<CareLevelCertification>,
}

/// The personal fields of `PatientMoved`: the new address and insured number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAddress {
    /// Postal address.
    pub address: String,
    /// 被保険者番号 under the new insurer: 10 ASCII digits.
    pub insured_number: String,
}

/// The personal fields of `ConsentRecorded` and `ConsentAmended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentPersonal {
    /// The proxy's name, when a proxy gave the consent.
    pub proxy_name: Option<String>,
}

/// A family member to contact (not a user of the platform). Personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FamilyContact {
    /// Name.
    #[schema(min_length = 1, max_length = 200, example = "出雲 花子")]
    pub name: String,
    /// Reading in kana, if known.
    #[serde(default)]
    #[schema(max_length = 200, example = "イズモ ハナコ")]
    pub name_kana: Option<String>,
    /// How they are related to the patient.
    #[schema(schema_with = crate::closed_lists::family_relationship)]
    pub relationship: FamilyRelationship,
    /// Phone.
    #[schema(
        pattern = "^0[0-9]*(-[0-9]+)*$",
        max_length = 21,
        example = "090-1234-5678"
    )]
    pub phone: String,
    /// The key person (キーパーソン) the team calls first.
    #[serde(default)]
    pub key_person: bool,
    /// A note (e.g. "平日昼間は仕事").
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

// ── commands ────────────────────────────────────────────────────────────────────────────

/// Register a patient. Body of `POST /api/v1/patients` and the bus command; the service
/// chooses the id, and the caller's site (when they are not the secretariat) registers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPatient {
    /// Name in kanji.
    #[schema(min_length = 1, max_length = 200, example = "出雲 太郎")]
    pub name: String,
    /// Reading in kana (half-width, hiragana and full-width are normalised to katakana).
    #[schema(max_length = 200, example = "イズモ タロウ")]
    pub name_kana: String,
    /// Date of birth.
    #[schema(example = "1938-05-03")]
    pub date_of_birth: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Postal address.
    #[schema(min_length = 1, max_length = 200, example = "島根県出雲市今市町1-1")]
    pub address: String,
    /// 保険者番号 of the long-term care insurance: 6 digits, the first two the prefecture.
    #[schema(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$", example = "322032")]
    pub insurer_number: String,
    /// 被保険者番号: 10 digits (kept as a string; leading zeros matter).
    #[schema(pattern = "^[0-9]{10}$", example = "0000123456")]
    pub insured_number: String,
    /// Care level, if certified.
    #[serde(default)]
    pub care_level: Option<CareLevelCertification>,
    /// The patient's home municipality (6-digit local government code, check digit verified).
    #[schema(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$", example = "322032")]
    pub home_municipality: String,
    /// The registering site (one the caller works at); absent when the secretariat registers.
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub registering_site: Option<String>,
}

/// The answer to a registration: the new patient, and a warning (not a block) when a
/// patient with the same reading and date of birth exists in the municipality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatientRegistration {
    /// The new patient's id.
    pub patient_id: String,
    /// Patients of the municipality with the same kana name and date of birth.
    pub possible_duplicates: Vec<String>,
}

/// A move to another municipality. Body of the POST; the subject stays the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientMove {
    /// The new home municipality.
    #[schema(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$", example = "322059")]
    pub home_municipality: String,
    /// The new insurer's number (6 digits).
    #[schema(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$", example = "322059")]
    pub insurer_number: String,
    /// The insured number under the new insurer (10 digits).
    #[schema(pattern = "^[0-9]{10}$")]
    pub insured_number: String,
    /// The new address.
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    /// The day of the move.
    pub effective_on: NaiveDate,
}

/// Move a patient: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MovePatient {
    /// The patient.
    pub patient_id: String,
    /// Where to.
    pub change: PatientMove,
}

/// Record a care level certification: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertifyCareLevel {
    /// The patient.
    pub patient_id: String,
    /// The certification.
    pub certification: CareLevelCertification,
}

/// End of care. Body of the POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareEnding {
    /// Why.
    pub reason: EndOfCareReason,
    /// When it happened (not in the future; may be earlier than today).
    pub effective_at: DateTime<Utc>,
}

/// End a patient's care: the bus command. Closes the team and every access but the auditors'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndCare {
    /// The patient.
    pub patient_id: String,
    /// How it ended.
    pub ending: CareEnding,
}

/// A signed consent form, as the receiving site types it in. Body of the POST that records a
/// consent and of the one that amends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentDetails {
    /// Which sites it covers.
    #[schema(value_type = ConsentModelSchema)]
    pub model: ConsentModel,
    /// Which kinds of data it opens (at least one).
    #[schema(value_type = Vec<String>, example = json!(["care_records", "medication"]))]
    pub categories: Vec<DataCategory>,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day; absent: until withdrawn.
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    /// The patient also agreed to share information about their family.
    #[serde(default)]
    pub family_information: bool,
    /// Written or electronic (verbal is refused).
    pub form: ReceivedForm,
    /// The patient or a proxy.
    pub given_by: ConsentGiver,
    /// The day the form was signed.
    pub signed_on: NaiveDate,
    /// The receiving site (one the caller works at).
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub received_at_site: String,
    /// SHA-256 of the scanned form, uploaded to the file store first.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub scanned_form: Option<String>,
}

/// Record a consent (pending until the secretariat verifies it): the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordConsent {
    /// The patient.
    pub patient_id: String,
    /// The form, as typed in.
    pub details: ConsentDetails,
}

/// Record an amendment (a new version): the bus command. One that only narrows takes effect
/// at once; one that widens waits for verification, the current version staying in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmendConsent {
    /// The patient.
    pub patient_id: String,
    /// The consent.
    pub consent_id: String,
    /// The amended form, whole.
    pub details: ConsentDetails,
}

/// Verify and activate a pending version: the bus command (the secretariat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyConsent {
    /// The patient.
    pub patient_id: String,
    /// The consent.
    pub consent_id: String,
    /// The version verified.
    pub version: u32,
}

/// Refuse a pending version. Body of the POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRejection {
    /// The version refused.
    pub version: u32,
    /// Why (shown to the receiving site).
    #[schema(min_length = 1, max_length = 500, example = "署名欄が空欄です")]
    pub reason: String,
}

/// Refuse a pending version: the bus command (the secretariat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectConsent {
    /// The patient.
    pub patient_id: String,
    /// The consent.
    pub consent_id: String,
    /// Which version and why.
    pub rejection: ConsentRejection,
}

/// A withdrawal. Body of the POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentWithdrawal {
    /// When the patient withdrew (told by phone yesterday, recorded today); absent: now.
    /// Access closes from the moment it is recorded either way.
    #[serde(default)]
    pub effective_at: Option<DateTime<Utc>>,
}

/// Withdraw a consent (every version, at once): the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WithdrawConsent {
    /// The patient.
    pub patient_id: String,
    /// The consent.
    pub consent_id: String,
    /// When.
    pub withdrawal: ConsentWithdrawal,
}

/// A seat on the care team. Body of the POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeamMember {
    /// The site (consent names sites, so a seat always has one).
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub site: String,
    /// A member of that site holding the seat alone; absent: the whole site.
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub member: Option<String>,
    /// Their part on the team.
    #[schema(schema_with = crate::closed_lists::team_part)]
    pub part: TeamPart,
    /// On the team from (absent: now).
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
}

/// Add a seat: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddTeamMember {
    /// The patient.
    pub patient_id: String,
    /// The seat.
    pub seat: NewTeamMember,
}

/// Remove a seat: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoveTeamMember {
    /// The patient.
    pub patient_id: String,
    /// The seat.
    pub membership_id: String,
    /// Off the team from (absent: now).
    pub effective_at: Option<DateTime<Utc>>,
}

/// The team's 24-hour contact (usually the home-visit nursing station's on-call phone).
/// A business phone, not personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact24h {
    /// The site that answers, if it is a site of the team.
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub site: Option<String>,
    /// The phone.
    #[schema(
        pattern = "^0[0-9]*(-[0-9]+)*$",
        max_length = 21,
        example = "090-1234-5678"
    )]
    pub phone: String,
    /// A note (e.g. "夜間は訪問看護の当番携帯").
    #[serde(default)]
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

/// Set (or clear, with `None`) the 24-hour contact: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetContact24h {
    /// The patient.
    pub patient_id: String,
    /// The contact.
    pub contact: Option<Contact24h>,
}

/// Add a family contact: the bus command (the service chooses its id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddFamilyContact {
    /// The patient.
    pub patient_id: String,
    /// The contact.
    pub contact: FamilyContact,
}

/// Remove a family contact: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoveFamilyContact {
    /// The patient.
    pub patient_id: String,
    /// The contact.
    pub contact_id: String,
}

/// A break-glass request. Body of the POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    /// Why (required), in words a reviewer can read: it is flagged to the coordination
    /// centre and auditors. At least two kanji or kana (急変) or four Latin letters; digits
    /// and punctuation alone are refused.
    #[schema(
        min_length = 2,
        max_length = 500,
        example = "訪問時に意識レベル低下、救急搬送に同行"
    )]
    pub reason: String,
    /// How long, in minutes (default 240, at most 720).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 720)]
    pub minutes: Option<u32>,
}

/// Open a patient in an emergency: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenBreakGlass {
    /// The patient.
    pub patient_id: String,
    /// Why, and for how long.
    pub request: BreakGlassRequest,
}

// ── queries and views ───────────────────────────────────────────────────────────────────

/// Query: a patient's registration data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetPatientRegistration {
    /// The patient.
    pub patient_id: String,
}

/// One version of a consent, as registration data shows it (no personal fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentSummary {
    /// The consent.
    pub consent_id: String,
    /// The version.
    pub version: u32,
    /// Where it stands.
    #[schema(schema_with = crate::closed_lists::consent_status)]
    pub status: ConsentStatus,
    /// Which sites it covers.
    #[schema(value_type = ConsentModelSchema)]
    pub model: ConsentModel,
    /// Which kinds of data.
    #[schema(value_type = Vec<String>)]
    pub categories: CategorySet,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: Option<NaiveDate>,
}

/// One seat on the team, as registration data shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TeamSeat {
    /// The seat.
    pub membership_id: String,
    /// The site.
    pub site: String,
    /// The member, if the seat is theirs alone.
    pub member: Option<String>,
    /// Their part.
    #[schema(schema_with = crate::closed_lists::team_part)]
    pub part: TeamPart,
    /// Since.
    pub since: DateTime<Utc>,
    /// The site's name.
    #[serde(default)]
    pub site_name: Option<String>,
    /// The site's phone, to call it.
    #[serde(default)]
    pub site_phone: Option<String>,
    /// The site's phone that answers day and night, if it has one.
    #[serde(default)]
    pub site_contact_24h: Option<String>,
    /// The seat's member by name, if the seat is theirs alone.
    #[serde(default)]
    pub member_name: Option<String>,
    /// The seat's member's profession.
    #[serde(default)]
    pub member_profession: Option<String>,
}

/// Registration data: what the secretariat and the team see of a patient without consent —
/// that they are registered, their consents' status and the team's composition. No name, no
/// clinical content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatientRegistrationView {
    /// The patient.
    pub patient_id: String,
    /// Home municipality.
    pub home_municipality: String,
    /// The registering site, if a site registered them.
    pub registering_site: Option<String>,
    /// When care ended, if it did.
    pub care_ended_at: Option<DateTime<Utc>>,
    /// Every consent version, oldest first.
    pub consents: Vec<ConsentSummary>,
    /// Seats held now.
    pub team: Vec<TeamSeat>,
    /// The 24-hour contact.
    pub contact_24h: Option<Contact24h>,
}

/// Query: the patients on whose care team the caller holds a seat now (their own, or one of
/// their site's), a page at a time by patient id. Each patient listed is a read of their
/// name through the access decision, recorded like any other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListMyPatients {
    /// The last patient id of the previous page.
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// One of the caller's patients, as their list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MyPatient {
    /// The patient.
    pub patient_id: String,
    /// Home municipality.
    pub home_municipality: String,
    /// The caller's parts on the team (their seats, or their site's).
    #[schema(schema_with = crate::closed_lists::team_parts)]
    pub parts: Vec<TeamPart>,
    /// Name, reading and date of birth, when the consent lets the caller see them.
    pub personal: Option<PatientSummary>,
    /// Why they are not shown (the decision's reason, e.g. `consent_pending`), if not.
    pub withheld: Option<String>,
    /// When care ended, if it did.
    pub care_ended_at: Option<DateTime<Utc>>,
}

/// Who a patient is, in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatientSummary {
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
}

/// Query: the patients of a municipality for its secretariat, registration data only (no
/// name, no clinical content), a page at a time by patient id; each one listed is a
/// recorded read of their registration data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListMunicipalityPatients {
    /// The municipality (6 digits).
    pub municipality: String,
    /// Only patients with a consent version waiting for verification.
    #[serde(default)]
    pub waiting: bool,
    /// The last patient id of the previous page.
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// Query: who could see a patient at a past moment, and why (auditors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoCouldSeeQuery {
    /// The patient.
    pub patient_id: String,
    /// The moment.
    pub at: DateTime<Utc>,
    /// Which reading: `in_force_as_known_today` or `as_known_then`.
    pub reading: consent::Reading,
}

// ── clinical data through consent ───────────────────────────────────────────────────────

/// The personal fields of `DocumentAttached`: its title may name the patient or their
/// condition, so it is sealed with the patient's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentPersonal {
    /// The title, as given (normalised).
    pub title: String,
}

/// Attach a document to a patient's record: the bus command. The file was uploaded to the
/// file store first; this records which blob it is, what kind of data it holds (the consent
/// category that gates it) and its title. Needs `write_patient_clinical` through consent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachDocument {
    /// The patient.
    pub patient_id: String,
    /// The category of data the document holds.
    #[schema(schema_with = crate::closed_lists::data_category)]
    pub category: DataCategory,
    /// SHA-256 of the blob, lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    /// The blob's media type, as the file store sniffed it.
    #[schema(max_length = 127, example = "application/pdf")]
    pub media_type: String,
    /// Size in bytes.
    #[schema(minimum = 1)]
    pub size: u64,
    /// Title (personal data: sealed with the patient's key).
    #[schema(min_length = 1, max_length = 200, example = "退院時サマリー")]
    pub title: String,
    /// Why: the purpose the decision weighs, as for a read of the category.
    #[serde(default = "care")]
    #[schema(schema_with = crate::closed_lists::purpose)]
    pub purpose: Purpose,
}

fn care() -> Purpose {
    Purpose::Care
}

/// The answer to an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttachedDocument {
    /// The new document's id (a UUIDv7).
    pub document_id: String,
}

/// Query: a patient's record, for the categories asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadPatientRecord {
    /// The patient.
    pub patient_id: String,
    /// The categories asked (at least one); the answer holds those the decision allows.
    #[schema(value_type = Vec<String>, example = json!(["documents", "care_records"]))]
    pub categories: Vec<DataCategory>,
    /// Why: `care`, or `emergency` (break-glass).
    #[schema(schema_with = crate::closed_lists::purpose)]
    pub purpose: Purpose,
}

/// A patient's personal data as their record shows it (opened with their key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatientPersonalView {
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Postal address (the latest).
    pub address: String,
    /// The latest care level certification, if any.
    pub care_level: Option<CareLevelCertification>,
}

/// One document of a patient's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DocumentView {
    /// The document.
    pub document_id: String,
    /// Its category.
    #[schema(schema_with = crate::closed_lists::data_category)]
    pub category: DataCategory,
    /// SHA-256 of its blob.
    pub sha256: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Title; `null` once the patient's personal data was erased.
    pub title: Option<String>,
    /// When it was attached.
    pub attached_at: DateTime<Utc>,
}

/// A patient's record: personal data and the documents of the allowed categories, with the
/// reason it may be seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatientRecordView {
    /// The patient.
    pub patient_id: String,
    /// Personal data; `null` once erased.
    pub personal: Option<PatientPersonalView>,
    /// The categories allowed (a subset of those asked).
    #[schema(value_type = Vec<String>)]
    pub allowed_categories: CategorySet,
    /// Why it may be seen: consent id, version and team seat, or a break-glass grant.
    #[schema(value_type = Object)]
    pub basis: Basis,
    /// Documents of the allowed categories, oldest first.
    pub documents: Vec<DocumentView>,
}

/// Query: may the caller fetch a document's blob? Decided for the document's category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDocument {
    /// The patient.
    pub patient_id: String,
    /// The document.
    pub document_id: String,
    /// Why: `care`, or `emergency` (break-glass).
    #[schema(schema_with = crate::closed_lists::purpose)]
    pub purpose: Purpose,
}

/// Which blob a document is: the gateway streams it from the file store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DocumentBlob {
    /// SHA-256 of the blob, lowercase hex.
    pub sha256: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
}

/// Erase a patient's personal data: the bus command (the operator, or the secretariat of
/// the patient's home municipality). Destroys the patient's key; the history stays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasePatient {
    /// The patient.
    pub patient_id: String,
    /// Why (required): the patient asked, or the retention period ended.
    #[schema(min_length = 1, max_length = 500, example = "保存期間満了")]
    pub reason: String,
}

/// The answer to an erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatientErasure {
    /// The patient.
    pub patient_id: String,
    /// When the key was destroyed.
    pub erased_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sealed_object_counts_as_a_sealed_personal_field() {
        let sealed = serde_json::json!({"personal": {"sealed": "abc"}});
        assert_eq!(sealed_personal(&sealed), Some("abc"));
        for not in [
            serde_json::json!({"personal": null}),
            serde_json::json!({}),
            serde_json::json!({"personal": {"name": "出雲 太郎", "sealed": "x"}}),
            serde_json::json!({"personal": {"sealed": 1}}),
        ] {
            assert_eq!(sealed_personal(&not), None, "{not}");
        }
    }

    #[test]
    fn the_documented_consent_model_has_the_shape_of_the_real_one() {
        let real = [
            ConsentModel::AllParticipatingSites {
                excluded: vec!["s1".into()],
            },
            ConsentModel::ListedSites {
                sites: vec!["s1".into(), "s2".into()],
            },
            ConsentModel::SiteBySite { site: "s1".into() },
        ];
        for model in real {
            let json = serde_json::to_value(&model).unwrap();
            let doc: ConsentModelSchema = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(serde_json::to_value(doc).unwrap(), json);
        }
    }

    #[test]
    fn a_consent_form_refuses_fields_it_does_not_know() {
        let form = serde_json::json!({
            "model": {"model": "site_by_site", "site": "s1"},
            "categories": ["care_records"],
            "valid_from": "2026-10-01",
            "form": "written",
            "given_by": {"by": "proxy", "name": "出雲 一郎", "relationship": "child"},
            "signed_on": "2026-10-01",
            "received_at_site": "s1",
        });
        let parsed: ConsentDetails = serde_json::from_value(form.clone()).unwrap();
        assert_eq!(
            parsed.given_by,
            ConsentGiver::Proxy {
                name: "出雲 一郎".into(),
                relationship: Some(FamilyRelationship::Child)
            }
        );
        let mut extra = form;
        extra["status"] = "active".into();
        assert!(serde_json::from_value::<ConsentDetails>(extra).is_err());
    }
}
