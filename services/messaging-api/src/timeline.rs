//! A patient's timeline: posts by the care team, newest first.

use chrono::{DateTime, Utc};
use consent::{DataCategory, Purpose};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

/// The longest post, in characters: a report, not a document (attach those).
pub const MAX_TEXT_CHARS: usize = 4000;

pub(crate) fn data_category() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(DataCategory::ALL.iter().map(|c| c.as_str())))
        .description(Some(
            "The data category the post holds (default `care_records`): the patient's consent must cover it for your seat.",
        ))
        .build()
}

pub(crate) fn purpose() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["care", "emergency"]))
        .build()
}

/// A post, as the one writing it sends it. Body of `POST /api/v1/patients/{id}/posts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    /// What there is to report, ask or pass on (personal data: sealed with the patient's
    /// key). Not empty, at most 4,000 characters.
    #[schema(
        min_length = 1,
        max_length = 4000,
        example = "本日訪問。仙骨部の褥瘡が悪化、写真を添付します。"
    )]
    pub text: String,
    /// The data category it holds (default `care_records`).
    #[serde(default)]
    #[schema(schema_with = data_category, nullable = false)]
    pub category: Option<DataCategory>,
    /// 至急: urgent.
    #[serde(default)]
    pub urgent: bool,
    /// 要返信: a reply is asked for.
    #[serde(default)]
    pub reply_requested: bool,
    /// Why: `care` (default, through the consent) or `emergency` (through your break-glass
    /// access), decided as a read of the category would be.
    #[serde(default)]
    #[schema(schema_with = purpose, nullable = false)]
    pub purpose: Option<Purpose>,
    /// A reply: the post it answers, on the same patient's timeline (a reply to a reply
    /// answers the thread's first post).
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub reply_to: Option<String>,
}

/// Post to a patient's timeline: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePost {
    pub patient_id: String,
    pub post: NewPost,
}

/// The answer to a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Posted {
    /// The new post.
    pub post_id: String,
}

/// A page of a patient's timeline: the bus query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadTimeline {
    pub patient_id: String,
    /// Posts older than this one (the previous page's `next_after`).
    pub after: Option<String>,
    pub limit: Option<u32>,
    pub purpose: Purpose,
}

/// Who wrote a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostAuthorView {
    pub member_id: String,
    /// Their name.
    pub name: String,
    /// Their profession (`nurse`, `care_manager`, …).
    pub profession: Option<String>,
    /// The site they wrote for, by name.
    pub site_name: Option<String>,
}

/// A member read a post, or acknowledged it (了解). Body of
/// `POST /api/v1/patients/{patient_id}/posts/{post_id}/receipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// 了解: acknowledged with one tap (default: only read).
    #[serde(default)]
    pub acknowledged: bool,
}

/// A receipt: the bus command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordReceipt {
    pub patient_id: String,
    pub post_id: String,
    pub acknowledged: bool,
}

/// Where a member's receipt of a post stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub post_id: String,
    /// Read (always, once a receipt is recorded).
    pub read: bool,
    /// 了解.
    pub acknowledged: bool,
}

/// Someone of the team who read a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReaderView {
    pub member_id: String,
    pub name: String,
    pub profession: Option<String>,
    pub site_name: Option<String>,
    /// 了解.
    pub acknowledged: bool,
    pub read_at: DateTime<Utc>,
}

/// A page of a timeline, newest first.
pub type TimelinePage = doors::Page<PostView>;

/// One post as a team member reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostView {
    pub post_id: String,
    pub author: PostAuthorView,
    #[schema(schema_with = data_category)]
    pub category: DataCategory,
    /// 至急.
    pub urgent: bool,
    /// 要返信.
    pub reply_requested: bool,
    /// The text; absent when the patient's personal data was erased.
    pub text: Option<String>,
    pub posted_at: DateTime<Utc>,
    /// The post it replies to (the first post of its thread), if it is a reply.
    pub reply_to: Option<String>,
    /// The reader wrote it.
    pub mine: bool,
    /// The reader has read it (or wrote it).
    pub read_by_me: bool,
    /// The reader acknowledged it (了解).
    pub acknowledged_by_me: bool,
    /// Who of the team has read it, first reader first.
    pub readers: Vec<ReaderView>,
    /// Who of the team now has not read it yet (its writer aside).
    pub unread: Vec<PostAuthorView>,
}
