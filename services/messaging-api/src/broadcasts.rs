//! Broadcasts (一斉配信): the coordination centre sends a notice to every member of its
//! municipality, or to chosen professions — broadcast-only members included. A site or a
//! professional association submits one for review: the centre publishes it, or returns it
//! with a reason, and the submitter revises and resubmits. Every submission keeps its
//! history. Never patient data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::timeline::PostAuthorView;

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// The longest text, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// The longest reason for returning a submission, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A broadcast to send or submit. Body of `POST /api/v1/broadcasts`; a revision's body too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBroadcast {
    /// The municipality it goes to, by code: your own.
    #[schema(pattern = "^[0-9]{6}$", example = "322032")]
    pub municipality: String,
    /// Its title (1–100 characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        example = "インフルエンザ予防接種のお知らせ"
    )]
    pub title: String,
    /// Its text (1–4,000 characters). Never a patient's data.
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
    /// Only these professions receive it; none named: every member of the municipality.
    #[serde(default)]
    #[schema(max_items = 50, schema_with = crate::boards::profession_list)]
    pub professions: Vec<String>,
}

/// A revision of a returned submission. Body of
/// `POST /api/v1/broadcasts/{broadcast_id}/revisions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastRevision {
    /// Its title (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    /// Its text (1–4,000 characters).
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
    /// Only these professions receive it; none named: every member of the municipality.
    #[serde(default)]
    #[schema(max_items = 50, schema_with = crate::boards::profession_list)]
    pub professions: Vec<String>,
}

/// Revise a returned submission: the bus command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviseBroadcast {
    pub broadcast_id: String,
    pub revision: BroadcastRevision,
}

/// Where a broadcast stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BroadcastStatus {
    /// 確認待ち: submitted, waiting for the centre.
    Pending,
    /// 差し戻し: returned with a reason, for the submitter to revise.
    Returned,
    /// 配信済み: published to its audience.
    Published,
}

impl BroadcastStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Returned => "returned",
            Self::Published => "published",
        }
    }

    pub fn named(text: &str) -> Option<Self> {
        [Self::Pending, Self::Returned, Self::Published]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The answer to a broadcast sent or submitted, revised or reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BroadcastAnswer {
    pub broadcast_id: String,
    pub status: BroadcastStatus,
    /// The submission's version now (the first is 1).
    pub version: u32,
}

/// The centre's decision on a submission. Body of
/// `POST /api/v1/broadcasts/{broadcast_id}/review`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// Publish it, or return it to the submitter.
    pub decision: ReviewDecision,
    /// Why it is returned (required then; at most 500 characters): the submitter reads it.
    #[serde(default)]
    #[schema(max_length = 500, nullable = false)]
    pub reason: Option<String>,
}

/// Publish or return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Publish,
    Return,
}

/// Review a submission: the bus command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBroadcast {
    pub broadcast_id: String,
    pub review: ReviewBody,
}

/// A page of broadcasts or submissions: the bus query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListBroadcasts {
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// A broadcast's history: the bus query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadBroadcastHistory {
    pub broadcast_id: String,
}

/// A broadcast as its audience receives it, or as its submitter and the centre follow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BroadcastView {
    pub broadcast_id: String,
    pub municipality: String,
    pub status: BroadcastStatus,
    pub version: u32,
    pub title: String,
    pub text: String,
    /// The professions it goes to; empty: everyone.
    pub professions: Vec<String>,
    /// Who submitted it for review (absent: the centre sent it itself).
    pub submitted_by: Option<PostAuthorView>,
    /// Why it was returned, while it is.
    pub returned_reason: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub published_by: Option<PostAuthorView>,
    pub updated_at: DateTime<Utc>,
}

/// A page of broadcasts, newest first.
pub type BroadcastsPage = doors::Page<BroadcastView>;

/// One step of a broadcast's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BroadcastStep {
    /// `submitted`, `returned` or `published`.
    pub step: BroadcastStatus,
    pub version: u32,
    /// The title and text of this version (for a submission or a publication).
    pub title: Option<String>,
    pub text: Option<String>,
    /// Why it was returned.
    pub reason: Option<String>,
    pub by: PostAuthorView,
    pub at: DateTime<Utc>,
}

/// A broadcast's history, first step first. At most a few dozen steps, so never paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BroadcastHistory {
    pub broadcast: BroadcastView,
    pub steps: Vec<BroadcastStep>,
}
