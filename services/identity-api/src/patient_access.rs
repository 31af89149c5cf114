//! Patient data held by another service (messaging's posts), decided here: the other
//! service asks before any of it leaves or is stored. Identity takes the one access decision
//! with its own facts, fresh to the patient's last event (so a withdrawal or a member
//! leaving the team refuses the very next request, whichever service answers it), records
//! it as `AccessRecorded` naming the asking service's route, and only then seals what is to
//! be stored or opens what is to be shown — with the patient's own key, so erasing the
//! patient shreds the other service's copies too. A refusal answers exactly as identity's
//! own reads do.
//!
//! A bus endpoint only: no HTTP route reaches it.

use consent::{DataCategory, Purpose};
use serde::{Deserialize, Serialize};

/// Endpoint: [`PatientAccess`] → [`PatientAccessAnswer`].
pub const PATIENT_ACCESS: &str = "patient_access";

/// What the other service does with the patient's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AccessAsked {
    /// Shows data of these categories (the answer says which the decision allows).
    Read { categories: Vec<DataCategory> },
    /// Stores data of this category (the consent must cover it).
    Write { category: DataCategory },
    /// Organises what another service holds about the patient without reading it (the
    /// secretariat withdrawing a post written to the wrong patient): decided as a read of
    /// the registration data, for administration; nothing clinical is opened.
    Registration,
}

/// Sealed text of one category, to open if the decision allows its category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedText {
    pub category: DataCategory,
    pub sealed: String,
}

/// Ask, as the member in the call's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientAccess {
    pub patient_id: String,
    pub asked: AccessAsked,
    pub purpose: Purpose,
    /// What the access touches, for the record (e.g. `post:<id>`, `timeline`).
    pub resources: Vec<String>,
    /// The asking service's endpoint, for the record (e.g. `messaging.create_post`).
    pub route: String,
    /// Binds sealed text to its use: the same context seals and opens (e.g. `PostCreated`).
    pub context: String,
    /// Texts to seal once allowed (a write).
    #[serde(default)]
    pub seal: Vec<String>,
    /// Texts to open, each only if its category is allowed (a read).
    #[serde(default)]
    pub open: Vec<SealedText>,
    /// Also answer who is on the patient's team now (for read receipts: who has not read).
    #[serde(default)]
    pub roster: bool,
    /// Search terms of what is sealed (its bigrams), to key with the patient's key once
    /// allowed (see [`SEARCH_TERMS`]).
    #[serde(default)]
    pub index: Vec<String>,
    /// Also answer the patient's name (a search shows whose post it found).
    #[serde(default)]
    pub name: bool,
}

/// The member who asked, as a colleague knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub member_id: String,
    pub name: String,
    pub profession: Option<String>,
    /// The site they act for here (their seat's site when the consent allowed it).
    pub site_id: Option<String>,
    pub site_name: Option<String>,
}

/// Allowed: what the decision opens, the texts sealed and opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientAccessAnswer {
    /// The categories allowed (for a write, the one asked).
    pub categories: Vec<DataCategory>,
    /// The patient's home municipality (the envelope's `municipality` of what is stored).
    pub home_municipality: Option<String>,
    /// Who asked.
    pub author: Author,
    /// [`PatientAccess::seal`], sealed, in order.
    pub sealed: Vec<String>,
    /// [`PatientAccess::open`], opened, in order: `None` where the category is not allowed
    /// or the patient's data was erased.
    pub opened: Vec<Option<String>>,
    /// When asked ([`PatientAccess::roster`]): every active member seated on the team now
    /// (named on a seat, or working at a seated site), with the seat's site.
    #[serde(default)]
    pub team: Vec<Author>,
    /// [`PatientAccess::index`], keyed, in order.
    #[serde(default)]
    pub indexed: Vec<i64>,
    /// When asked ([`PatientAccess::name`]) and allowed: the patient's name (none once erased).
    #[serde(default)]
    pub patient_name: Option<String>,
}

/// Endpoint: [`SearchTerms`] → [`SearchTermsAnswer`]. A search over what another service
/// holds sealed: its terms are keyed with each patient's own key, so the other service
/// finds a patient's posts by number without ever holding a readable index, and erasing
/// the patient (the key destroyed) leaves their numbers unfindable. Answered for the
/// patients whose team the asking member sits on now and whose consent lets them read:
/// nothing is read or shown here (the matches are opened, decided and recorded through
/// [`PATIENT_ACCESS`]), so nothing is recorded.
pub const SEARCH_TERMS: &str = "search_terms";

/// The terms of a search (bigrams, as `japanese::search` cuts them), as the member in the
/// call's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchTerms {
    pub terms: Vec<String>,
}

/// The terms keyed for each patient the member may search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchTermsAnswer {
    pub patients: Vec<PatientTerms>,
}

/// One patient's keyed terms, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientTerms {
    pub patient_id: String,
    pub terms: Vec<i64>,
}

/// The context a patient's search terms are keyed in.
pub fn search_context(patient_id: &str) -> String {
    format!("patient:{patient_id}/search")
}
