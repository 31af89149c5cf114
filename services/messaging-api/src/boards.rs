//! Boards (掲示板): notices for the people of a municipality or of the whole region — site
//! announcements, emergency notices (緊急), road closures, questions (教えてほしい). A board
//! is for everyone, or for chosen professions or sites; fire and police read a board only
//! when it names them. A board never carries patient data: that is the timeline's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use crate::timeline::PostAuthorView;

/// The longest board name, in characters.
pub const MAX_NAME_CHARS: usize = 60;
/// The longest description of a board, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest board post, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// The most professions or sites an audience may name.
pub const MAX_AUDIENCE: usize = 50;
/// The most posts a board keeps pinned at once.
pub const MAX_PINNED: usize = 10;

pub(crate) fn professions() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(
            permissions::Profession::ALL.iter().map(|p| p.as_str()),
        ))
        .build()
}

/// What a board post is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoardPostKind {
    /// お知らせ: an announcement (a site's news, a meeting, a change of hours).
    #[default]
    Announcement,
    /// 緊急: an emergency notice.
    Emergency,
    /// 通行止め: a road closure.
    RoadClosure,
    /// 教えてほしい: a question to the board's readers.
    Question,
}

impl BoardPostKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Announcement => "announcement",
            Self::Emergency => "emergency",
            Self::RoadClosure => "road_closure",
            Self::Question => "question",
        }
    }

    pub fn named(text: &str) -> Option<Self> {
        [
            Self::Announcement,
            Self::Emergency,
            Self::RoadClosure,
            Self::Question,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A board to open. Body of `POST /api/v1/boards`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBoard {
    /// Its name, e.g. 緊急のお知らせ (1–60 characters).
    #[schema(min_length = 1, max_length = 60, example = "緊急のお知らせ")]
    pub name: String,
    /// What it is for (at most 500 characters).
    #[serde(default)]
    #[schema(max_length = 500, nullable = false)]
    pub description: Option<String>,
    /// The municipality it belongs to, by code: your own. Absent: region-wide (the operator
    /// only).
    #[serde(default)]
    #[schema(nullable = false, pattern = "^[0-9]{6}$")]
    pub municipality: Option<String>,
    /// Who reads it: these professions (fire and police only when named here)…
    #[serde(default)]
    #[schema(max_items = 50, schema_with = profession_list)]
    pub professions: Vec<String>,
    /// …and the members of these sites, of the board's municipality. Neither: everyone of
    /// the municipality (or region), fire and police aside.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub sites: Vec<String>,
    /// For everyone, fire and police included (an emergency notices board). Only with no
    /// professions or sites named.
    #[serde(default)]
    pub fire_and_police: bool,
}

pub(crate) fn profession_list() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(professions())
        .max_items(Some(MAX_AUDIENCE))
        .build()
}

/// The answer to opening a board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BoardOpenedAnswer {
    pub board_id: String,
}

/// A site an audience names, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SiteNamed {
    pub site_id: String,
    pub name: String,
}

/// A board as its readers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BoardView {
    pub board_id: String,
    pub name: String,
    pub description: Option<String>,
    /// Its municipality's code; absent for a region-wide board.
    pub municipality: Option<String>,
    /// Everyone of the municipality (or region) reads it, fire and police aside…
    pub everyone: bool,
    /// …and fire and police too.
    pub fire_and_police: bool,
    /// The professions it is for.
    pub professions: Vec<String>,
    /// The sites it is for, by name.
    pub sites: Vec<SiteNamed>,
    /// You may pin its posts (its municipality's secretariat or coordination centre, the
    /// operator).
    pub manage: bool,
    pub opened_at: DateTime<Utc>,
    pub opened_by: PostAuthorView,
}

/// A page of the boards you may read.
pub type BoardsPage = doors::Page<BoardView>;

/// The boards you may read: the bus query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListBoards {
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// A post to a board. Body of `POST /api/v1/boards/{board_id}/posts`. It carries no patient:
/// a body naming one (`patient_id`) is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBoardPost {
    /// The notice or question (1–4,000 characters). Never a patient's data.
    #[schema(
        min_length = 1,
        max_length = 4000,
        example = "国道9号 出雲市塩冶町付近、12月8日 9時〜17時 通行止め。訪問の際は迂回してください。"
    )]
    pub text: String,
    /// What it is (default `announcement`).
    #[serde(default)]
    #[schema(nullable = false)]
    pub kind: Option<BoardPostKind>,
    /// A reply: the post it answers on the same board.
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub reply_to: Option<String>,
}

/// Post to a board: the bus command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostToBoard {
    pub board_id: String,
    pub post: NewBoardPost,
}

/// A board's posts: the bus query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadBoard {
    pub board_id: String,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// One post on a board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BoardPostView {
    pub post_id: String,
    pub kind: BoardPostKind,
    pub text: String,
    pub author: PostAuthorView,
    pub posted_at: DateTime<Utc>,
    /// The first post of the thread it answers, if it is a reply.
    pub reply_to: Option<String>,
    /// Pinned to the top of the board.
    pub pinned: bool,
    /// You wrote it.
    pub mine: bool,
}

/// Query: posts of the boards the caller reads that hold every word of `q`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBoards {
    pub q: String,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// A post a board search found, with the board it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BoardSearchHit {
    /// The board, by id and name.
    pub board_id: String,
    pub board_name: String,
    /// The post.
    pub post: BoardPostView,
}

/// A page of a board search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BoardSearchPage {
    /// Newest first.
    pub items: Vec<BoardSearchHit>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// A board and its posts: the pinned ones always, then the rest newest first, a page at a
/// time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BoardPage {
    pub board: BoardView,
    /// Pinned posts, most recently pinned first (on every page).
    pub pinned: Vec<BoardPostView>,
    /// Posts newest first (pinned ones included in their place).
    pub items: Vec<BoardPostView>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// Pin or unpin a post. Body of `POST /api/v1/boards/{board_id}/posts/{post_id}/pin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinBody {
    /// Pinned (true) or not (false).
    pub pinned: bool,
}

/// Pin a post: the bus command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinBoardPost {
    pub board_id: String,
    pub post_id: String,
    pub pinned: bool,
}

/// Where a pin stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pinned {
    pub post_id: String,
    pub pinned: bool,
}
