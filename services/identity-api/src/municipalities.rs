//! Commands, queries and views of the municipality register.

pub mod routes;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an area below a municipality is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AreaKind {
    /// 区: a ward of a designated city.
    Ward,
    /// 日常生活圏域: a daily-life area used for care planning and summaries.
    DailyLifeArea,
}

/// What holds a group of municipalities together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// 広域連合: a wide-area union (e.g. an insurer formed by several municipalities).
    WideAreaUnion,
    /// The municipalities one coordination centre serves.
    CoordinationCentreCoverage,
    /// Any other grouping (a wide-area cooperation of several towns…).
    Other,
}

/// A local government code as sent: 6 digits, the first two a prefecture (01–47), the
/// last a check digit. Documents list items; the field itself stays a `String`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = "472107", pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
pub struct CodeText(pub String);

/// Register a municipality. Operator only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterMunicipality {
    /// 全国地方公共団体コード: 6 digits, the last a check digit (JIS X 0402, modulus 11; a wrong
    /// one is refused, 422). Full-width digits are accepted.
    #[schema(example = "322032", pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub code: String,
    /// Name in kanji, e.g. 出雲市.
    #[schema(example = "出雲市", min_length = 1, max_length = 200)]
    pub name: String,
    /// Reading in kana (half-width, hiragana and full-width are normalised to katakana).
    #[schema(
        example = "イズモシ",
        pattern = "^[ぁ-ゖァ-ヺー・ｦ-ﾟ]+([ 　][ぁ-ゖァ-ヺー・ｦ-ﾟ]+)*$",
        max_length = 200
    )]
    pub name_kana: String,
}

/// New name of a municipality (e.g. after a merger changed it). Body of the PATCH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityNameChange {
    /// Name in kanji.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Reading in kana.
    #[schema(
        pattern = "^[ぁ-ゖァ-ヺー・ｦ-ﾟ]+([ 　][ぁ-ゖァ-ヺー・ｦ-ﾟ]+)*$",
        max_length = 200
    )]
    pub name_kana: String,
}

/// Rename a municipality: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameMunicipality {
    /// The municipality.
    pub code: String,
    /// Its new name.
    #[serde(flatten)]
    pub change: MunicipalityNameChange,
}

/// A new area below a municipality. Body of the POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArea {
    /// Stable id chosen by the operator: lowercase ASCII letters, digits and `-`.
    #[schema(example = "aoba", pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub area_id: String,
    /// Ward or daily-life area.
    pub kind: AreaKind,
    /// Name in kanji.
    #[schema(example = "青葉区", min_length = 1, max_length = 200)]
    pub name: String,
    /// Reading in kana.
    #[schema(
        example = "アオバク",
        pattern = "^[ぁ-ゖァ-ヺー・ｦ-ﾟ]+([ 　][ぁ-ゖァ-ヺー・ｦ-ﾟ]+)*$",
        max_length = 200
    )]
    pub name_kana: String,
}

/// Add an area: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddArea {
    /// The municipality.
    pub code: String,
    /// The area.
    pub area: NewArea,
}

/// Remove an area: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoveArea {
    /// The municipality.
    pub code: String,
    /// The area.
    pub area_id: String,
}

/// Form a group of municipalities. Body of the POST and the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormGroup {
    /// Stable id: lowercase ASCII letters, digits and `-`.
    #[schema(example = "minami-okinawa", pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub group_id: String,
    /// What holds it together.
    pub kind: GroupKind,
    /// Name in kanji.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Reading in kana.
    #[schema(
        pattern = "^[ぁ-ゖァ-ヺー・ｦ-ﾟ]+([ 　][ぁ-ゖァ-ヺー・ｦ-ﾟ]+)*$",
        max_length = 200
    )]
    pub name_kana: String,
    /// Codes of registered municipalities (at least one, no repeats), each with a right
    /// check digit (JIS X 0402).
    #[schema(value_type = Vec<CodeText>, min_items = 1, max_items = 2000)]
    pub members: Vec<String>,
}

/// A municipality to add to a group. Body of the POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupMember {
    /// The municipality's code. The last digit is a check digit (JIS X 0402, modulus 11): a code whose check digit is wrong is refused (422).
    #[schema(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub code: String,
}

/// Add a municipality to a group, or take it out: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMembership {
    /// The group.
    pub group_id: String,
    /// The municipality.
    pub code: String,
}

/// Query: one municipality by code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetMunicipality {
    /// The municipality's code.
    pub code: String,
}

/// Query: one group by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetGroup {
    /// The group.
    pub group_id: String,
}

/// Query: a page of municipalities in code order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ListMunicipalities {
    /// Only this prefecture (2 digits, 01–47).
    pub prefecture: Option<String>,
    /// Start after this code (key paging).
    pub after: Option<String>,
    /// Page size (1–200, default 50).
    pub limit: Option<u32>,
}

/// Query: a page of groups in id order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ListGroups {
    /// Start after this group id (key paging).
    pub after: Option<String>,
    /// Page size (1–200, default 50).
    pub limit: Option<u32>,
}

/// The largest page any list returns.
pub const MAX_PAGE: u32 = 200;

/// A prefecture, as shown with a municipality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PrefectureView {
    /// Two digits, 01–47.
    pub code: String,
    /// Name in kanji.
    pub name: String,
}

/// An area as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AreaView {
    /// Its id.
    pub area_id: String,
    /// Ward or daily-life area.
    pub kind: AreaKind,
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
}

/// A municipality as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MunicipalityView {
    /// Local government code.
    pub code: String,
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// Its prefecture.
    pub prefecture: PrefectureView,
    /// Areas below it, by id.
    pub areas: Vec<AreaView>,
    /// Groups it belongs to, by id.
    pub groups: Vec<String>,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A member of a group as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupMemberView {
    /// Local government code.
    pub code: String,
    /// Name in kanji.
    pub name: String,
}

/// A group as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupView {
    /// Its id.
    pub group_id: String,
    /// What holds it together.
    pub kind: GroupKind,
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// Its municipalities, by code.
    pub members: Vec<GroupMemberView>,
    /// When it was formed.
    pub formed_at: DateTime<Utc>,
}

/// A page of results with the key to ask for the next one.
pub use doors::Page;

/// What the service reports about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceHealth {
    /// The database answered.
    pub database: bool,
    /// Sequence the register projection has applied up to.
    pub checkpoint: u64,
    /// Events parked because they could not be applied (by any of the service's
    /// projections: the register and care).
    pub dead_letters: u64,
}
