//! Commands, queries and views of organisations (法人, the legal entities) and their service
//! sites (事業所). Consent names sites, never a whole organisation, so a site is an entry of
//! its own with its own id; the organisation only groups them.

pub mod routes;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What kind of legal entity an organisation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// 医療法人.
    MedicalCorporation,
    /// 社会福祉法人.
    SocialWelfareCorporation,
    /// 株式会社, 有限会社, 合同会社….
    Company,
    /// 特定非営利活動法人 (NPO法人).
    Npo,
    /// A local government (市町村, 広域連合) running sites itself.
    Municipality,
    /// 一般社団法人, 公益社団法人 (e.g. a medical association), 一般財団法人….
    Association,
    /// Anything else (国, 独立行政法人, 生活協同組合, an individual practitioner…).
    Other,
}

/// What kind of place a service site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// 病院.
    Hospital,
    /// 診療所.
    Clinic,
    /// 歯科診療所.
    DentalClinic,
    /// 薬局.
    Pharmacy,
    /// 訪問看護ステーション.
    HomeVisitNursingStation,
    /// 訪問介護事業所.
    HomeVisitCare,
    /// 通所介護 (デイサービス).
    DayService,
    /// 短期入所 (ショートステイ).
    ShortStay,
    /// 居宅介護支援事業所.
    CareManagementOffice,
    /// 地域包括支援センター.
    CommunityGeneralSupportCentre,
    /// 在宅医療・介護連携支援センター.
    CoordinationCentre,
    /// 入所施設 (特養, 老健, 介護医療院, グループホーム…).
    ResidentialFacility,
    /// 市町村の窓口 (the secretariat, a ward office).
    MunicipalOffice,
    /// 医師会, 歯科医師会, 薬剤師会, 介護支援専門員協会….
    ProfessionalAssociation,
    /// 社会福祉協議会.
    CouncilOfSocialWelfare,
    /// 認知症疾患医療センター.
    DementiaMedicalCentre,
    /// 病院の地域連携室.
    HospitalRegionalLiaisonOffice,
    /// 消防.
    Fire,
    /// 警察.
    Police,
    /// Anything else.
    Other,
}

/// A service type code as sent (`data/service_types.tsv`). Documents list items; the
/// field itself stays a `String`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTypeCodeText(pub String);

impl utoipa::PartialSchema for ServiceTypeCodeText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::service_types::code_schema().into()
    }
}

impl utoipa::ToSchema for ServiceTypeCodeText {
    fn name() -> std::borrow::Cow<'static, str> {
        "ServiceTypeCodeText".into()
    }
}

/// A local government code as sent, in lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = "322032", pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
pub struct MunicipalityCodeText(pub String);

/// Register an organisation. Body of the POST and the bus command; the service chooses
/// its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// Name in kanji, e.g. 医療法人出雲会.
    #[schema(example = "医療法人出雲会", min_length = 1, max_length = 200)]
    pub name: String,
    /// Reading in kana (half-width, hiragana and full-width are normalised to katakana).
    #[schema(
        example = "イリョウホウジンイズモカイ",
        pattern = "^[ぁ-ゖァ-ヺー・ｦ-ﾟ]+([ 　][ぁ-ゖァ-ヺー・ｦ-ﾟ]+)*$",
        max_length = 200
    )]
    pub name_kana: String,
    /// 法人番号: 13 digits, the first a check digit over the other twelve. Full-width
    /// digits are accepted. Absent for an entity that has none.
    #[serde(default)]
    #[schema(example = "7000012050002", pattern = "^[1-9][0-9]{12}$")]
    pub corporate_number: Option<String>,
    /// What kind of legal entity it is.
    pub kind: OrganisationKind,
    /// The code of the registered municipality it belongs to. The last digit is a check digit (JIS X 0402, modulus 11): a code whose check digit is wrong is refused (422).
    #[schema(example = "322032", pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub home_municipality: String,
}

/// New name of an organisation. Body of the PATCH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationNameChange {
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

/// Rename an organisation: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenameOrganisation {
    /// The organisation.
    pub organisation_id: String,
    /// Its new name.
    pub change: OrganisationNameChange,
}

/// Everything about a site that can be edited: the body of the POST that registers a site
/// and of the PUT that replaces its details (a field left out of the PUT is cleared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteDetails {
    /// 事業所番号 (介護保険): 10 digits, the first two the prefecture (01–47). Unique
    /// among open sites. Absent for a site that has none (fire, police, a municipal office).
    #[serde(default)]
    #[schema(
        example = "3260190012",
        pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{8}$"
    )]
    pub provider_number: Option<String>,
    /// Name in kanji.
    #[schema(example = "出雲訪問看護ステーション", min_length = 1, max_length = 200)]
    pub name: String,
    /// Reading in kana.
    #[schema(
        example = "イズモホウモンカンゴステーション",
        pattern = "^[ぁ-ゖァ-ヺー・ｦ-ﾟ]+([ 　][ぁ-ゖァ-ヺー・ｦ-ﾟ]+)*$",
        max_length = 200
    )]
    pub name_kana: String,
    /// What kind of place it is.
    pub kind: SiteKind,
    /// Service type codes it holds (`data/service_types.tsv`), each once.
    #[serde(default)]
    #[schema(value_type = Vec<ServiceTypeCodeText>, max_items = 64)]
    pub service_types: Vec<String>,
    /// Code of the registered municipality it is in. The last digit is a check digit (JIS X 0402, modulus 11): a code whose check digit is wrong is refused (422).
    #[schema(example = "322032", pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub home_municipality: String,
    /// An area (ward, daily-life area) of the home municipality.
    #[serde(default)]
    #[schema(example = "hirata", pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub area_id: Option<String>,
    /// Other registered municipalities it serves; the home municipality is always served.
    /// Each code's last digit is a check digit (JIS X 0402), and must be right.
    #[serde(default)]
    #[schema(value_type = Vec<MunicipalityCodeText>, max_items = 200)]
    pub municipalities_served: Vec<String>,
    /// Postal address.
    #[schema(example = "島根県出雲市今市町70", min_length = 1, max_length = 200)]
    pub address: String,
    /// Phone: digits with optional hyphens, 10 or 11 digits, starting with 0.
    #[schema(
        example = "0853-21-0000",
        pattern = "^0[0-9]*(-[0-9]+)*$",
        max_length = 21
    )]
    pub phone: String,
    /// FAX, written like the phone.
    #[serde(default)]
    #[schema(
        example = "0853-21-0001",
        pattern = "^0[0-9]*(-[0-9]+)*$",
        max_length = 21
    )]
    pub fax: Option<String>,
    /// A phone that answers day and night (home-visit nursing on call), written like the phone.
    #[serde(default)]
    #[schema(
        example = "090-1234-5678",
        pattern = "^0[0-9]*(-[0-9]+)*$",
        max_length = 21
    )]
    pub contact_24h: Option<String>,
}

/// Register a site of an organisation: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterSite {
    /// The organisation that runs it.
    pub organisation_id: String,
    /// The site.
    pub details: SiteDetails,
}

/// Replace a site's details: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSiteDetails {
    /// The site.
    pub site_id: String,
    /// Its new details, all of them.
    pub details: SiteDetails,
}

/// Close a site: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloseSite {
    /// The site.
    pub site_id: String,
}

/// Query: one organisation with its sites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetOrganisation {
    /// The organisation.
    pub organisation_id: String,
}

/// Query: a page of organisations in reading (五十音) order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ListOrganisations {
    /// Start after this organisation (its id; key paging).
    pub after: Option<String>,
    /// Page size (1–200, default 50).
    pub limit: Option<u32>,
}

/// Query: one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetSite {
    /// The site.
    pub site_id: String,
}

/// Query: a page of sites in reading (五十音) order, then by id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ListSites {
    /// Only sites serving this municipality (code).
    pub municipality: Option<String>,
    /// Only sites holding this service type (code).
    pub service_type: Option<String>,
    /// Only sites of this kind.
    pub kind: Option<SiteKind>,
    /// Only sites of this organisation.
    pub organisation_id: Option<String>,
    /// Closed sites too (default: open sites only).
    pub include_closed: Option<bool>,
    /// Start after this site (its id; key paging).
    pub after: Option<String>,
    /// Page size (1–200, default 50).
    pub limit: Option<u32>,
}

/// A municipality named in a view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MunicipalityRef {
    /// Local government code.
    pub code: String,
    /// Name in kanji.
    pub name: String,
}

/// An organisation named in a view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrganisationRef {
    /// Its id.
    pub organisation_id: String,
    /// Name in kanji.
    pub name: String,
}

/// A service type named in a view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceTypeRef {
    /// Its code.
    pub code: String,
    /// Its name in Japanese.
    pub name: String,
}

/// A site as listed with its organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SiteSummary {
    /// Its id.
    pub site_id: String,
    /// 事業所番号, if it has one.
    pub provider_number: Option<String>,
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// What kind of place it is.
    pub kind: SiteKind,
    /// When it closed; null while open.
    pub closed_at: Option<DateTime<Utc>>,
}

/// An organisation as listed: the view without its sites, so a page stays small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrganisationSummary {
    /// Its id.
    pub organisation_id: String,
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// 法人番号, if it has one.
    pub corporate_number: Option<String>,
    /// What kind of legal entity it is.
    pub kind: OrganisationKind,
    /// The municipality it belongs to.
    pub home_municipality: MunicipalityRef,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An organisation as read back, with its sites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrganisationView {
    /// Its id.
    pub organisation_id: String,
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// 法人番号, if it has one.
    pub corporate_number: Option<String>,
    /// What kind of legal entity it is.
    pub kind: OrganisationKind,
    /// The municipality it belongs to.
    pub home_municipality: MunicipalityRef,
    /// Its sites, open and closed, in reading order.
    pub sites: Vec<SiteSummary>,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A site as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SiteView {
    /// Its id.
    pub site_id: String,
    /// The organisation that runs it.
    pub organisation: OrganisationRef,
    /// 事業所番号, if it has one.
    pub provider_number: Option<String>,
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// What kind of place it is.
    pub kind: SiteKind,
    /// Service types it holds, by code.
    pub service_types: Vec<ServiceTypeRef>,
    /// The municipality it is in.
    pub home_municipality: MunicipalityRef,
    /// Its area in the home municipality, if given.
    pub area_id: Option<String>,
    /// Municipalities it serves (the home one included), by code.
    pub municipalities_served: Vec<MunicipalityRef>,
    /// Postal address.
    pub address: String,
    /// Phone.
    pub phone: String,
    /// FAX, if given.
    pub fax: Option<String>,
    /// A phone that answers day and night, if given.
    pub contact_24h: Option<String>,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it closed; null while open.
    pub closed_at: Option<DateTime<Utc>>,
}
