//! Consultations (相談): a member asks the coordination centre of their municipality, one to
//! one; any of the centre's staff answers, and one of them may be assigned; open until closed.
//! A consultation may name a patient: naming one is decided by the access decision (the asker
//! must be allowed to read the patient), and each reader is shown the patient's name only
//! where their own decision allows, every such read recorded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::timeline::PostAuthorView;

/// The longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// The longest message, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

/// A consultation to open. Body of `POST /api/v1/consultations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsultation {
    /// What it is about (1–100 characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        example = "退院後の訪問看護の調整について"
    )]
    pub subject: String,
    /// The question (1–4,000 characters).
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
    /// The patient it is about, if any: one you may read (decided and recorded).
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub patient_id: Option<String>,
}

/// A message in a consultation. Body of `POST /api/v1/consultations/{consultation_id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationMessageBody {
    /// 1–4,000 characters.
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

/// Write in a consultation: the bus command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteInConsultation {
    pub consultation_id: String,
    pub text: String,
}

/// Whom a consultation is assigned to. Body of
/// `POST /api/v1/consultations/{consultation_id}/assignment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentBody {
    /// A member of the coordination centre.
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub member_id: String,
}

/// Assign a consultation: the bus command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignConsultation {
    pub consultation_id: String,
    pub member_id: String,
}

/// Close a consultation, or read one: the bus command and query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsultationRef {
    pub consultation_id: String,
}

/// A page of consultations: the bus query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListConsultations {
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// The answer to a change of a consultation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationAnswer {
    pub consultation_id: String,
    pub open: bool,
}

/// The patient a consultation names, as the reader may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationPatient {
    pub patient_id: String,
    /// Their name, when the reader's access decision allows it (recorded); absent otherwise.
    pub name: Option<String>,
}

/// A consultation in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationSummary {
    pub consultation_id: String,
    pub subject: String,
    pub opened_by: PostAuthorView,
    pub assignee: Option<PostAuthorView>,
    /// Open (true) or closed.
    pub open: bool,
    /// It names a patient (shown when opened).
    pub names_patient: bool,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of consultations, newest first.
pub type ConsultationsPage = doors::Page<ConsultationSummary>;

/// One message of a consultation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationMessageView {
    pub text: String,
    pub by: PostAuthorView,
    /// Written by the coordination centre.
    pub from_centre: bool,
    pub at: DateTime<Utc>,
}

/// A consultation with all its messages, first first (a conversation, never paged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationView {
    pub consultation: ConsultationSummary,
    pub patient: Option<ConsultationPatient>,
    pub messages: Vec<ConsultationMessageView>,
    /// You answer for the centre (and may assign it).
    pub centre: bool,
}
