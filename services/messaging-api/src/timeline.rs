//! A patient's timeline: posts by the care team, newest first.

use chrono::{DateTime, Utc};
use consent::{DataCategory, Purpose};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

/// The longest post, in characters: a report, not a document (attach those).
pub const MAX_TEXT_CHARS: usize = 4000;

/// The most files one post may carry.
pub const MAX_ATTACHMENTS: usize = 10;

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
    /// key). At most 4,000 characters; not empty unless files are attached.
    #[serde(default)]
    #[schema(
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
    /// Members of the care team this post is addressed to (@): each must be on the team now
    /// (see `GET /api/v1/patients/{patient_id}/team/people`). At most 20.
    #[serde(default)]
    #[schema(
        max_items = 20,
        value_type = Vec<String>,
    )]
    pub mentions: Vec<String>,
    /// Files attached — photos, documents, short videos — each by the SHA-256 that
    /// `POST /api/v1/files` answered, and each one you or your site uploaded. At most 10.
    /// The team downloads them through the post, as they read it.
    #[serde(default)]
    #[schema(max_items = 10, value_type = Vec<String>)]
    pub attachments: Vec<String>,
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
    /// When its text last changed, if it was edited (its history keeps every text).
    pub edited_at: Option<DateTime<Utc>>,
    /// Its withdrawal, if it was withdrawn: the text is then left out here (its history
    /// keeps it).
    pub retraction: Option<RetractionView>,
    /// Whom it is addressed to (@), by name.
    pub mentions: Vec<PostAuthorView>,
    /// Its files, in the order attached (left out, as the text is, once it is withdrawn).
    pub attachments: Vec<AttachmentView>,
    /// It is addressed to the reader.
    pub mentions_me: bool,
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

/// A post's new text. Body of `POST /api/v1/patients/{patient_id}/posts/{post_id}/edits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostEdit {
    /// The whole new text (not empty, at most 4,000 characters). Every earlier text stays
    /// in the post's history.
    #[schema(
        min_length = 1,
        max_length = 4000,
        example = "本日訪問。仙骨部の褥瘡はやや改善。"
    )]
    pub text: String,
}

/// Edit a post: the bus command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditPost {
    pub patient_id: String,
    pub post_id: String,
    pub text: String,
}

/// The answer to an edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Edited {
    pub post_id: String,
    /// The text's version now (the first text is version 1).
    pub version: u32,
}

/// Why a post is withdrawn. Body of
/// `POST /api/v1/patients/{patient_id}/posts/{post_id}/retraction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetractionBody {
    /// Why, in words the team can read (e.g. 別の患者さんへの投稿でした); optional for the
    /// author, required of the secretariat. At most 500 characters.
    #[serde(default)]
    #[schema(
        max_length = 500,
        nullable = false,
        example = "別の患者さんへの投稿でした"
    )]
    pub reason: Option<String>,
}

/// Retract a post: the bus command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetractPost {
    pub patient_id: String,
    pub post_id: String,
    pub reason: Option<String>,
}

/// The answer to a retraction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Retracted {
    pub post_id: String,
    /// When it was withdrawn (the first retraction: asking again changes nothing).
    pub retracted_at: DateTime<Utc>,
}

/// A post's texts, first to last: the bus query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadPostHistory {
    pub patient_id: String,
    pub post_id: String,
    pub purpose: Purpose,
}

/// One text of a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostVersionView {
    /// 1 for the text as first posted.
    pub version: u32,
    /// The text; absent when the patient's personal data was erased.
    pub text: Option<String>,
    pub written_at: DateTime<Utc>,
    pub written_by: PostAuthorView,
}

/// A post's history: every text it had, first to last, and its withdrawal if it was
/// withdrawn. A post keeps at most [`MAX_VERSIONS`] texts, so this is never paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostHistory {
    pub post_id: String,
    pub versions: Vec<PostVersionView>,
    pub retraction: Option<RetractionView>,
}

/// How many texts a post may have (its first and 99 edits): past that, write a new post.
pub const MAX_VERSIONS: u32 = 100;

/// A post's withdrawal (取り消し): the post stays, marked, with who withdrew it and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RetractionView {
    pub retracted_at: DateTime<Utc>,
    pub retracted_by: PostAuthorView,
    /// Why; absent when none was given, or when the patient's personal data was erased.
    pub reason: Option<String>,
}

/// A search of the timelines of the patients whose team you are on: the bus query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchPosts {
    pub q: String,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// One post a search found, with its patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    pub patient_id: String,
    /// The patient's name (absent once their personal data was erased).
    pub patient_name: Option<String>,
    pub post_id: String,
    pub author: PostAuthorView,
    #[schema(schema_with = data_category)]
    pub category: DataCategory,
    /// 至急.
    pub urgent: bool,
    /// The text as it stands now.
    pub text: String,
    pub posted_at: DateTime<Utc>,
}

/// A page of what a search found, newest first.
pub type SearchPage = doors::Page<SearchHit>;

/// Who is on a patient's care team now: the bus query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadTeamPeople {
    pub patient_id: String,
}

/// Everyone on the patient's care team now (a seat's named member, or every active member of
/// a seated site), by name, profession and site: whom a post may address (@). A team is
/// small, so this is never paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TeamPeople {
    pub people: Vec<PostAuthorView>,
}

/// A file attached to a post, as the team sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttachmentView {
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// The type decided from the content when it was uploaded (`image/jpeg`, `application/pdf`, …).
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Where to download it: decided as a read of the post, and recorded.
    pub href: String,
}

/// Open a file attached to a post: the bus query (the gateway streams the content once it
/// is allowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAttachment {
    pub patient_id: String,
    pub post_id: String,
    pub sha256: String,
    pub purpose: Purpose,
}

/// The answer: the file may be streamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentAllowed {
    pub sha256: String,
}
