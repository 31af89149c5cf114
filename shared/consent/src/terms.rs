//! What a consent says: which sites, which kinds of data, from when until when, given how
//! and by whom; and where each version of it stands.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::{ConsentId, MemberId, SiteId};
use crate::time::within_dates;

closed_list! {
    /// A kind of patient data a consent can open, as regional networks list them on the form.
    /// Registration data (that a patient is registered, consent status, team composition) is
    /// not a category: it is not consented to but read by the team and the secretariat (see
    /// [`crate::Reach::Registration`]).
    pub enum DataCategory {
        /// 経過記録・介護記録: progress notes, visit records, vital signs, report/contact/consult posts.
        CareRecords = "care_records",
        /// 処方・服薬: prescriptions, dispensing and medication records.
        Medication = "medication",
        /// 検査結果: laboratory and imaging results.
        LabResults = "lab_results",
        /// 文書: referral letters, discharge summaries, reports (診療情報提供書, 退院サマリ…).
        Documents = "documents",
        /// ケアプラン・アセスメント: care plans, assessments, service schedules.
        CarePlan = "care_plan",
        /// 写真・動画: photos and videos (wounds, pressure ulcers, swallowing, the home).
        PhotosVideo = "photos_video",
    }
}

impl DataCategory {
    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`DataCategory`], `Copy` and allocation-free (one bit each). On the wire: a list
/// of category names in declaration order, each once.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CategorySet(u8);

impl CategorySet {
    /// No category.
    pub const EMPTY: Self = Self(0);

    /// Every category.
    pub const ALL: Self = {
        let mut bits = 0u8;
        let mut i = 0;
        while i < DataCategory::ALL.len() {
            bits |= DataCategory::ALL[i].bit();
            i += 1;
        }
        Self(bits)
    };

    /// A set of these categories.
    pub fn of(categories: &[DataCategory]) -> Self {
        categories.iter().copied().collect()
    }

    /// Is the category in the set?
    pub const fn contains(self, category: DataCategory) -> bool {
        self.0 & category.bit() != 0
    }

    /// The set with `category` added.
    pub const fn with(self, category: DataCategory) -> Self {
        Self(self.0 | category.bit())
    }

    /// Categories in both.
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Categories in `self` but not in `other`.
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Categories in either.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Is every category of `other` in `self`?
    pub const fn includes(self, other: Self) -> bool {
        other.0 & !self.0 == 0
    }

    /// Is it empty?
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many categories.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The categories, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = DataCategory> {
        DataCategory::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }
}

impl FromIterator<DataCategory> for CategorySet {
    fn from_iter<I: IntoIterator<Item = DataCategory>>(iter: I) -> Self {
        iter.into_iter().fold(Self::EMPTY, Self::with)
    }
}

impl From<DataCategory> for CategorySet {
    fn from(category: DataCategory) -> Self {
        Self::EMPTY.with(category)
    }
}

impl fmt::Debug for CategorySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for CategorySet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for CategorySet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let listed = Vec::<DataCategory>::deserialize(deserializer)?;
        Ok(listed.into_iter().collect())
    }
}

closed_list! {
    /// Why a member asks. Recorded with every access, and it must fit what is asked: routine
    /// care does not open a patient by break-glass, and auditors read the access record only.
    ///
    /// Kept small on purpose: each purpose changes the decision, none is decoration.
    pub enum Purpose {
        /// Routine care by the patient's team (reading and writing through consent), or
        /// reading the registration data to organise it.
        Care = "care",
        /// Protecting life and body in an emergency (APPI art. 27(1)(ii)): the only purpose a
        /// break-glass access serves. A team member asking for it is still served through
        /// consent when consent covers them.
        Emergency = "emergency",
        /// An auditor replaying who accessed the patient's data: the access record only,
        /// never clinical content.
        Audit = "audit",
        /// The secretariat's registration work (verifying consents, composing teams,
        /// indicators): registration data only.
        Administration = "administration",
    }
}

/// Which sites a consent covers: the three models regional networks use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum ConsentModel {
    /// 一括同意: every site participating in the network, now and in future, except those
    /// the patient excluded by name.
    AllParticipatingSites {
        /// Sites the patient refused (may be empty).
        excluded: Vec<SiteId>,
    },
    /// A listed set of sites, and no other.
    ListedSites {
        /// The sites (at least one).
        sites: Vec<SiteId>,
    },
    /// One site: the network records one consent per site (個別同意).
    SiteBySite {
        /// The site.
        site: SiteId,
    },
}

/// Whether a consent model covers a site, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteCoverage {
    /// The site is covered.
    Covered,
    /// The patient excluded this site by name (一括同意 with exclusions).
    Excluded,
    /// The site is not among those the consent names.
    NotNamed,
}

impl ConsentModel {
    /// Does this model cover `site`?
    pub fn covers(&self, site: &str) -> SiteCoverage {
        match self {
            Self::AllParticipatingSites { excluded } => {
                if excluded.iter().any(|s| s == site) {
                    SiteCoverage::Excluded
                } else {
                    SiteCoverage::Covered
                }
            }
            Self::ListedSites { sites } => {
                if sites.iter().any(|s| s == site) {
                    SiteCoverage::Covered
                } else {
                    SiteCoverage::NotNamed
                }
            }
            Self::SiteBySite { site: named } => {
                if named == site {
                    SiteCoverage::Covered
                } else {
                    SiteCoverage::NotNamed
                }
            }
        }
    }

    /// Does this model cover no site that `earlier` does not?
    pub fn covers_no_more_than(&self, earlier: &Self) -> bool {
        let covered_before = |s: &SiteId| earlier.covers(s.as_str()) == SiteCoverage::Covered;
        match (self, earlier) {
            (
                Self::AllParticipatingSites { excluded },
                Self::AllParticipatingSites { excluded: before },
            ) => before.iter().all(|s| excluded.contains(s)),
            (Self::AllParticipatingSites { .. }, _) => false,
            (Self::ListedSites { sites }, _) => sites.iter().all(covered_before),
            (Self::SiteBySite { site }, _) => covered_before(site),
        }
    }
}

closed_list! {
    /// How the consent was given. Special-care personal information is shared only with
    /// consent in writing or electronically; a verbal consent cannot be recorded (there is
    /// deliberately no variant for it).
    pub enum ConsentForm {
        /// A signed paper form (scanned into the blob store).
        Written = "written",
        /// An electronic consent (signature on a tablet, an e-consent service).
        Electronic = "electronic",
    }
}

closed_list! {
    /// How a family member (or guardian) is related to the patient: for a proxy who gave
    /// consent, and for family contacts.
    pub enum FamilyRelationship {
        /// 配偶者
        Spouse = "spouse",
        /// 子
        Child = "child",
        /// 子の配偶者
        ChildInLaw = "child_in_law",
        /// 親
        Parent = "parent",
        /// 兄弟姉妹
        Sibling = "sibling",
        /// 孫
        Grandchild = "grandchild",
        /// その他の親族
        OtherRelative = "other_relative",
        /// 成年後見人・保佐人・補助人 (a court-appointed guardian)
        Guardian = "guardian",
        /// Anyone else (a neighbour, a friend).
        Other = "other",
    }
}

/// Who gave the consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum GivenBy {
    /// The patient themselves.
    Patient,
    /// A proxy, for a patient who cannot give it (dementia, unconsciousness). The proxy's
    /// name is personal data: it travels with the event's sealed personal fields, not here.
    Proxy {
        /// How the proxy is related to the patient (required).
        relationship: FamilyRelationship,
    },
}

/// Who received the signed form: the site that records the consent, and its member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObtainedBy {
    /// The receiving site.
    pub site: SiteId,
    /// The member who received it.
    pub member: MemberId,
}

/// The terms of one version of a consent: everything the decision reads, and the facts of
/// the form. No personal data (the proxy's name travels sealed, with the event).
///
/// **Dates, not instants.** `valid_from`, `valid_until` and `signed_on` are dates as written
/// on the form, read in Japan time: valid from 00:00 JST on `valid_from` through the whole of
/// `valid_until` (see [`crate::time`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentTerms {
    /// Which sites it covers.
    pub model: ConsentModel,
    /// Which kinds of data it opens (at least one).
    pub categories: CategorySet,
    /// First day it is valid (often the day it was signed).
    pub valid_from: NaiveDate,
    /// Last day it is valid; `None`: until withdrawn.
    pub valid_until: Option<NaiveDate>,
    /// The patient also agreed to share information about their family (家族の情報).
    pub family_information: bool,
    /// Written or electronic.
    pub form: ConsentForm,
    /// The patient or a proxy.
    pub given_by: GivenBy,
    /// The day the form was signed.
    pub signed_on: NaiveDate,
    /// Who received it.
    pub obtained_by: ObtainedBy,
    /// SHA-256 (64 lowercase hex digits) of the scanned form in the blob store, if scanned.
    pub scanned_form: Option<String>,
}

/// Something wrong with consent terms, naming the field (a JSON pointer relative to the
/// terms, e.g. `/categories`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct TermsProblem {
    /// JSON pointer to the field, relative to the terms.
    pub field: String,
    /// What is wrong, for a person.
    pub reason: &'static str,
}

impl TermsProblem {
    fn new(field: impl Into<String>, reason: &'static str) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }
}

/// At most this many sites in a list (excluded or listed): more than a region has.
pub const MAX_SITES_NAMED: usize = 2_000;

impl ConsentTerms {
    /// Are the terms complete and consistent? The first problem found is named.
    pub fn check(&self) -> Result<(), TermsProblem> {
        let check_list = |field: &str, sites: &[SiteId], at_least_one: bool| {
            if at_least_one && sites.is_empty() {
                return Err(TermsProblem::new(
                    field.to_owned(),
                    "name at least one site",
                ));
            }
            if sites.len() > MAX_SITES_NAMED {
                return Err(TermsProblem::new(field.to_owned(), "too many sites"));
            }
            for (i, site) in sites.iter().enumerate() {
                if site.as_str().is_empty() {
                    return Err(TermsProblem::new(format!("{field}/{i}"), "a site id"));
                }
                if sites[..i].contains(site) {
                    return Err(TermsProblem::new(format!("{field}/{i}"), "listed twice"));
                }
            }
            Ok(())
        };
        match &self.model {
            ConsentModel::AllParticipatingSites { excluded } => {
                check_list("/model/excluded", excluded, false)?
            }
            ConsentModel::ListedSites { sites } => check_list("/model/sites", sites, true)?,
            ConsentModel::SiteBySite { site } => {
                if site.as_str().is_empty() {
                    return Err(TermsProblem::new("/model/site", "a site id"));
                }
            }
        }
        if self.categories.is_empty() {
            return Err(TermsProblem::new(
                "/categories",
                "a consent opens at least one category of data",
            ));
        }
        if self.valid_until.is_some_and(|u| u < self.valid_from) {
            return Err(TermsProblem::new(
                "/valid_until",
                "the last valid day comes before the first",
            ));
        }
        if self.signed_on > self.valid_from {
            return Err(TermsProblem::new(
                "/valid_from",
                "a consent is valid from the day it was signed or later",
            ));
        }
        if let Some(hash) = &self.scanned_form {
            let hex = hash.len() == 64
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex {
                return Err(TermsProblem::new(
                    "/scanned_form",
                    "the SHA-256 of the uploaded scan: 64 lowercase hex digits",
                ));
            }
        }
        Ok(())
    }

    /// Is `at` within the validity dates (Japan time, inclusive)?
    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        within_dates(at, self.valid_from, self.valid_until)
    }

    /// Is the day `date` (in Japan) within the validity dates? The same as [`Self::valid_at`]
    /// for any instant of that day, without converting each time.
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_until.is_none_or(|u| date <= u)
    }

    /// Do these terms open nothing that `earlier` did not (no site, category, day or family
    /// information more)? An amendment that only narrows is a withdrawal in part and takes
    /// effect at once; one that widens waits for the secretariat's verification.
    pub fn open_no_more_than(&self, earlier: &Self) -> bool {
        let dates_within = self.valid_from >= earlier.valid_from
            && match (self.valid_until, earlier.valid_until) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(new), Some(old)) => new <= old,
            };
        earlier.categories.includes(self.categories)
            && (earlier.family_information || !self.family_information)
            && dates_within
            && self.model.covers_no_more_than(&earlier.model)
    }
}

closed_list! {
    /// Where one version of a consent stands.
    pub enum ConsentStatus {
        /// Recorded by the receiving site, waiting for the secretariat: opens nothing.
        Pending = "pending",
        /// Verified and activated: opens what its terms say, within its dates.
        Active = "active",
        /// The secretariat refused the form (unsigned, illegible, wrong patient): opens nothing.
        Rejected = "rejected",
        /// A later version of the same consent took over.
        Superseded = "superseded",
        /// The patient withdrew the consent: effective at once, every version.
        Withdrawn = "withdrawn",
        /// Its last valid day has passed.
        Expired = "expired",
    }
}

/// One version of a consent: its terms and where it stands. Version 1 is the form as first
/// recorded; each amendment adds the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentVersion {
    /// The consent.
    pub consent_id: ConsentId,
    /// The version, from 1.
    pub version: u32,
    /// What it says.
    pub terms: ConsentTerms,
    /// Where it stands.
    pub status: ConsentStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataCategory::*;

    fn terms(model: ConsentModel, categories: CategorySet) -> ConsentTerms {
        ConsentTerms {
            model,
            categories,
            valid_from: "2026-04-01".parse().unwrap(),
            valid_until: None,
            family_information: false,
            form: ConsentForm::Written,
            given_by: GivenBy::Patient,
            signed_on: "2026-04-01".parse().unwrap(),
            obtained_by: ObtainedBy {
                site: "nursing".into(),
                member: "nurse".into(),
            },
            scanned_form: None,
        }
    }

    fn sites(ids: &[&str]) -> Vec<SiteId> {
        ids.iter().map(|s| SiteId::from(*s)).collect()
    }

    #[test]
    fn a_category_set_is_a_list_of_names_on_the_wire() {
        let set = CategorySet::of(&[PhotosVideo, Medication, Medication]);
        assert_eq!(
            serde_json::to_value(set).unwrap(),
            serde_json::json!(["medication", "photos_video"])
        );
        let back: CategorySet =
            serde_json::from_value(serde_json::json!(["photos_video", "medication"])).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_value::<CategorySet>(serde_json::json!(["gossip"])).is_err());
        assert_eq!(CategorySet::ALL.len(), 6);
        assert!(CategorySet::ALL.includes(set));
        assert!(!set.includes(CategorySet::ALL));
    }

    #[test]
    fn the_three_models_cover_sites_as_the_form_says() {
        let all = ConsentModel::AllParticipatingSites {
            excluded: sites(&["pharmacy-b"]),
        };
        assert_eq!(all.covers("any-site"), SiteCoverage::Covered);
        assert_eq!(all.covers("pharmacy-b"), SiteCoverage::Excluded);
        let listed = ConsentModel::ListedSites {
            sites: sites(&["clinic", "nursing"]),
        };
        assert_eq!(listed.covers("nursing"), SiteCoverage::Covered);
        assert_eq!(listed.covers("pharmacy-b"), SiteCoverage::NotNamed);
        let one = ConsentModel::SiteBySite {
            site: "clinic".into(),
        };
        assert_eq!(one.covers("clinic"), SiteCoverage::Covered);
        assert_eq!(one.covers("nursing"), SiteCoverage::NotNamed);
        assert_eq!(
            serde_json::to_value(&all).unwrap(),
            serde_json::json!({"model": "all_participating_sites", "excluded": ["pharmacy-b"]})
        );
    }

    #[test]
    fn excluding_a_site_or_dropping_a_category_narrows_and_adding_one_widens() {
        let before = terms(
            ConsentModel::AllParticipatingSites { excluded: vec![] },
            CategorySet::ALL,
        );
        let exclude = terms(
            ConsentModel::AllParticipatingSites {
                excluded: sites(&["pharmacy-b"]),
            },
            CategorySet::ALL,
        );
        assert!(exclude.open_no_more_than(&before));
        assert!(!before.open_no_more_than(&exclude));
        let listed = terms(
            ConsentModel::ListedSites {
                sites: sites(&["clinic", "pharmacy-b"]),
            },
            CategorySet::of(&[CareRecords]),
        );
        assert!(listed.open_no_more_than(&before));
        assert!(!listed.open_no_more_than(&exclude));
        let mut family = before.clone();
        family.family_information = true;
        assert!(!family.open_no_more_than(&before));
        let mut longer = listed.clone();
        longer.valid_from = "2026-03-01".parse().unwrap();
        assert!(!longer.open_no_more_than(&listed));
    }

    #[test]
    fn terms_name_the_field_at_fault() {
        let ok = terms(
            ConsentModel::ListedSites {
                sites: sites(&["clinic"]),
            },
            CategorySet::ALL,
        );
        assert_eq!(ok.check(), Ok(()));
        let field = |t: ConsentTerms| t.check().unwrap_err().field;
        let mut t = ok.clone();
        t.model = ConsentModel::ListedSites { sites: vec![] };
        assert_eq!(field(t), "/model/sites");
        let mut t = ok.clone();
        t.model = ConsentModel::ListedSites {
            sites: sites(&["clinic", "clinic"]),
        };
        assert_eq!(field(t), "/model/sites/1");
        let mut t = ok.clone();
        t.categories = CategorySet::EMPTY;
        assert_eq!(field(t), "/categories");
        let mut t = ok.clone();
        t.valid_until = Some("2026-03-31".parse().unwrap());
        assert_eq!(field(t), "/valid_until");
        let mut t = ok.clone();
        t.scanned_form = Some("ABC".into());
        assert_eq!(field(t), "/scanned_form");
        let mut t = ok;
        t.signed_on = "2026-04-02".parse().unwrap();
        assert_eq!(field(t), "/valid_from");
    }
}
