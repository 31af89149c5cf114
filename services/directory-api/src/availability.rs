//! Availability (空き状況・受け入れ状況): what a site can take now, said by the site itself.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether a site takes new users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Accepting {
    /// 受け入れ可.
    Yes,
    /// 受け入れ不可.
    No,
    /// 条件付きで可: the conditions say which.
    Conditional,
}

/// Beds free for a period (short-stay and residential services).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vacancy {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive); not before `from` (a period that ends before it starts is refused).
    pub until: NaiveDate,
    /// Beds free over the period (1–999).
    #[schema(minimum = 1, maximum = 999)]
    pub beds: u32,
}

/// What a site says it can take now. Body of `PUT /api/v1/sites/{site_id}/availability`:
/// one request, the whole status (the screen starts from the last answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityUpdate {
    /// New users: yes, no, or with conditions.
    pub accepting: Accepting,
    /// The conditions, in free text: required with `conditional` (refused when missing or
    /// only spaces), at most 500 characters, no control characters but line breaks and tabs.
    #[schema(example = "要介護3まで。吸引のある方は要相談。", max_length = 500)]
    #[serde(default)]
    pub conditions: Option<String>,
    /// How many new clients the site's care managers can take now (care management offices).
    #[schema(minimum = 0, maximum = 999)]
    #[serde(default)]
    pub new_clients: Option<u32>,
    /// Beds free by period (short stay, residential): up to 20 periods.
    #[schema(max_items = 20)]
    #[serde(default)]
    pub vacancies: Vec<Vacancy>,
}

/// Command: the site's new status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAvailability {
    pub site_id: String,
    pub update: AvailabilityUpdate,
}

/// Query: every site's latest status in the caller's municipality (the operator: the region).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListAvailability {}

/// Query: one site's latest status and the updates before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteAvailability {
    pub site_id: String,
}

/// Who updated a status, as colleagues know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdaterView {
    /// Name.
    pub name: String,
    /// Profession, if known.
    pub profession: Option<String>,
    /// The site they acted for, by name.
    pub site_name: Option<String>,
}

/// One status of a site, with how fresh it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AvailabilityView {
    /// The site.
    pub site_id: String,
    /// Its name.
    pub site_name: String,
    /// What kind of site it is (as identity's register says).
    pub site_kind: String,
    /// New users: yes, no, or with conditions.
    pub accepting: Accepting,
    /// The conditions, if any.
    pub conditions: Option<String>,
    /// New clients its care managers can take, if said.
    pub new_clients: Option<u32>,
    /// Beds free by period.
    pub vacancies: Vec<Vacancy>,
    /// When it was said.
    pub updated_at: DateTime<Utc>,
    /// Who said it.
    pub updated_by: UpdaterView,
    /// Fresh until then; stale after (its age is shown).
    pub fresh_until: DateTime<Utc>,
    /// Whether it is still fresh now.
    pub fresh: bool,
    /// Its age now, in whole days.
    pub age_days: i64,
}

/// The municipality's sites that said what they can take, latest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AvailabilityBoard {
    /// How long a status stays fresh, in hours (configured; 7 days by default).
    pub fresh_for_hours: i64,
    /// One status per site, the latest.
    pub sites: Vec<AvailabilityView>,
}

/// One site's latest status and the updates before it, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AvailabilityHistory {
    /// The latest, if the site ever said.
    pub current: Option<AvailabilityView>,
    /// Every earlier update, newest first (up to 100).
    pub earlier: Vec<AvailabilityView>,
}

/// The answer to an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AvailabilityUpdated {
    /// The status as stored.
    pub status: AvailabilityView,
}

/// What a site can do for a patient at home, as care managers search for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// 喀痰吸引.
    Suction,
    /// 経管栄養（胃ろう・経鼻）.
    TubeFeeding,
    /// 中心静脈栄養（IVH）.
    Ivh,
    /// 在宅酸素.
    Oxygen,
    /// ストーマ.
    Stoma,
    /// 人工呼吸器.
    Ventilator,
    /// 認知症.
    Dementia,
    /// ターミナルケア・看取り.
    TerminalCare,
    /// 感染症のある方.
    Infections,
    /// 医療的ケア児・小児.
    Children,
}

/// A site's listing: what the directory keeps beside identity's register. Body of
/// `PUT /api/v1/sites/{site_id}/listing` (the whole listing; a field left out is cleared).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    /// Latitude in degrees (−90 to 90), with `longitude`; geocoded by hand is fine.
    #[schema(minimum = -90, maximum = 90, example = 35.367)]
    #[serde(default)]
    pub latitude: Option<f64>,
    /// Longitude in degrees (−180 to 180), with `latitude`.
    #[schema(minimum = -180, maximum = 180, example = 132.755)]
    #[serde(default)]
    pub longitude: Option<f64>,
    /// Opening hours, as people write them (up to 200 characters).
    #[schema(
        example = "平日 8:30〜17:30（土日祝休み、24時間電話対応）",
        max_length = 200
    )]
    #[serde(default)]
    pub opening_hours: Option<String>,
    /// Capacity (users or beds), if it has one.
    #[schema(minimum = 0, maximum = 9999)]
    #[serde(default)]
    pub capacity: Option<u32>,
    /// What it can do (each at most once).
    #[schema(max_items = 10)]
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Languages spoken besides Japanese, in words (up to 10, each up to 30 characters).
    #[schema(max_items = 10, example = json!(["英語", "ポルトガル語"]))]
    #[serde(default)]
    pub languages: Vec<String>,
    /// A description in the site's own words (up to 1,000 characters).
    #[schema(max_length = 1000)]
    #[serde(default)]
    pub description: Option<String>,
}

/// Command: the site's new listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeListing {
    pub site_id: String,
    pub listing: Listing,
}

/// Query: the listings of the caller's municipality (the operator: the region).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListListings {}

/// A site's listing as stored, with who changed it last and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ListingView {
    /// The site.
    pub site_id: String,
    /// Its name.
    pub site_name: String,
    /// The listing.
    pub listing: Listing,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Who changed it.
    pub updated_by: UpdaterView,
}

/// The listings of the municipality's sites that have one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Listings {
    pub sites: Vec<ListingView>,
}
