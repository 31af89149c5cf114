//! Time travel: who could see a patient (which categories) at a moment in the past, and why
//! — in two readings that answer different questions.
//!
//! - [`Reading::AsKnownThen`]: what the platform *knew* then. Only changes recorded by that
//!   moment count, folded as the live projection folded them. This is what the platform
//!   actually allowed: a consent signed but not yet verified opened nothing; a withdrawal
//!   told by phone but not yet recorded had not closed anything.
//! - [`Reading::InForceAsKnownToday`]: what was *in force* then, according to everything
//!   recorded up to now, effective-dated. A consent version counts from its first valid day
//!   once it was verified (even if verification came later), an amendment recorded late
//!   replaces the earlier version from its own first valid day, a withdrawal counts from when
//!   the patient withdrew, a seat from when it took effect, the end of care from when it
//!   happened. Registration itself is not effective-dated: a registered patient counts as
//!   registered in this reading (what was in force is a matter of consent and team).
//!
//! Both readings build a [`PatientAccessFacts`] and a [`Directory`] of members for the moment
//! asked and then ask [`crate::decide`] — the very decision every request goes through.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use permissions::{Caller, Profession, Role, Subject};
use serde::{Deserialize, Serialize};

use crate::decision::{AccessDecision, AccessRequest, Basis, DenialReason, Reach, decide};
use crate::facts::{Change, PatientAccessFacts};
use crate::ids::{ConsentId, MemberId, MembershipId, PatientId, SiteId};
use crate::team::TeamPart;
use crate::terms::{CategorySet, ConsentStatus, ConsentTerms, Purpose};
use crate::time::start_of_day;

/// Which past is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    /// What was in force at that moment, according to everything recorded up to today
    /// (effective-dated; later corrections and amendments with earlier effect count).
    InForceAsKnownToday,
    /// What the platform knew at that moment: only what had been recorded by then.
    AsKnownThen,
}

/// A change and when it was recorded (the event's `occurred_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// When the platform recorded it.
    pub recorded_at: DateTime<Utc>,
    /// What changed (with its effective times).
    pub change: Change,
}

/// Everything recorded about one patient (and the members and sites of their team), in the
/// order it was recorded (stream order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientHistory {
    /// The patient.
    pub patient_id: PatientId,
    /// The changes, in stream order.
    pub changes: Vec<Recorded>,
}

/// What the history knows of one member at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFacts {
    /// The member.
    pub member: MemberId,
    /// Profession.
    pub profession: Option<Profession>,
    /// Roles.
    pub roles: Vec<Role>,
    /// Municipality.
    pub municipality: Option<String>,
    /// Where they worked, from when until when.
    pub work: Vec<SiteWork>,
    /// They left the platform at this instant.
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// A member's time at a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteWork {
    /// The site.
    pub site: SiteId,
    /// From.
    pub since: DateTime<Utc>,
    /// Until (exclusive; `None`: still there).
    pub until: Option<DateTime<Utc>>,
}

/// Members and sites as a history describes them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Directory {
    /// Members by id.
    pub members: BTreeMap<MemberId, MemberFacts>,
    /// Sites that closed, and when.
    pub closed_sites: BTreeMap<SiteId, DateTime<Utc>>,
}

impl Directory {
    /// Folds one change in (changes about the patient are ignored).
    pub fn apply(&mut self, change: &Change) {
        let blank = |member: &MemberId| MemberFacts {
            member: member.clone(),
            profession: None,
            roles: Vec::new(),
            municipality: None,
            work: Vec::new(),
            deactivated_at: None,
        };
        match change {
            Change::MemberProfile {
                member,
                profession,
                roles,
                municipality,
            } => {
                let m = self
                    .members
                    .entry(member.clone())
                    .or_insert_with(|| blank(member));
                m.profession = Some(*profession);
                m.roles = roles.clone();
                m.municipality = municipality.clone();
            }
            Change::MemberRolesChanged { member, roles, .. } => {
                if let Some(m) = self.members.get_mut(member) {
                    m.roles = roles.clone();
                }
            }
            Change::MemberStartedAtSite {
                member,
                site,
                since,
            } => {
                let m = self
                    .members
                    .entry(member.clone())
                    .or_insert_with(|| blank(member));
                m.work.push(SiteWork {
                    site: site.clone(),
                    since: *since,
                    until: None,
                });
            }
            Change::MemberLeftSite {
                member,
                site,
                effective_at,
            } => {
                if let Some(m) = self.members.get_mut(member) {
                    for w in m.work.iter_mut().filter(|w| w.site == *site) {
                        w.until = Some(w.until.map_or(*effective_at, |u| u.min(*effective_at)));
                    }
                }
            }
            Change::MemberDeactivated {
                member,
                effective_at,
            } => {
                if let Some(m) = self.members.get_mut(member) {
                    m.deactivated_at = Some(*effective_at);
                }
            }
            Change::SiteClosed { site, effective_at } => {
                self.closed_sites.insert(site.clone(), *effective_at);
            }
            _ => {}
        }
    }

    /// The sites `member` worked at, at `at` (none once they left or their site closed).
    pub fn sites_at(&self, member: &str, at: DateTime<Utc>) -> Vec<String> {
        let Some(m) = self.members.get(member) else {
            return Vec::new();
        };
        if m.deactivated_at.is_some_and(|d| d <= at) {
            return Vec::new();
        }
        let mut sites: Vec<String> = m
            .work
            .iter()
            .filter(|w| w.since <= at && w.until.is_none_or(|u| at < u))
            .filter(|w| self.closed_sites.get(&w.site).is_none_or(|c| at < *c))
            .map(|w| w.site.as_str().to_owned())
            .collect();
        sites.sort();
        sites.dedup();
        sites
    }

    /// The member as a caller at `at`, as the gateway would have vouched for them.
    pub fn caller_at(&self, member: &str, at: DateTime<Utc>) -> Option<Caller> {
        let m = self.members.get(member)?;
        Some(Caller {
            member_id: m.member.as_str().to_owned(),
            session_id: String::new(),
            subject: Subject::new(m.roles.clone(), m.profession),
            sites: self.sites_at(member, at),
            municipality: m.municipality.clone(),
        })
    }

    /// Members working at `site` at `at`.
    pub fn working_at(&self, site: &str, at: DateTime<Utc>) -> Vec<MemberId> {
        self.members
            .values()
            .filter(|m| {
                self.sites_at(m.member.as_str(), at)
                    .iter()
                    .any(|s| s == site)
            })
            .map(|m| m.member.clone())
            .collect()
    }
}

/// What one seat's site could see: the consent half of the decision for that site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteAnswer {
    /// The seat.
    pub membership_id: MembershipId,
    /// Its site.
    pub site: SiteId,
    /// The member named in it, if any.
    pub member: Option<MemberId>,
    /// Its part.
    pub part: TeamPart,
    /// Allowed with [`Basis::Consent`] and the categories, or the reason.
    pub decision: AccessDecision,
}

/// What one person could see, through [`crate::decide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAnswer {
    /// The member.
    pub member: MemberId,
    /// Their sites at that moment.
    pub sites: Vec<String>,
    /// Their profession.
    pub profession: Option<Profession>,
    /// The decision for reading every category (purpose: care, or emergency for a member
    /// holding a live break-glass grant).
    pub decision: AccessDecision,
}

/// The answer to "who could see this patient at that moment, and why".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoCouldSee {
    /// The patient.
    pub patient_id: PatientId,
    /// The moment.
    pub at: DateTime<Utc>,
    /// The reading.
    pub reading: Reading,
    /// Registered (in this reading).
    pub registered: bool,
    /// Care had ended by then (in this reading).
    pub care_ended: bool,
    /// One answer per seat held at that moment.
    pub sites: Vec<SiteAnswer>,
    /// One answer per person: named in a seat, working at a whole-site seat's site, or
    /// holding a live break-glass grant. Members the history does not describe are not
    /// listed (their seat still is).
    pub members: Vec<MemberAnswer>,
}

impl WhoCouldSee {
    /// The answer for one member, if listed.
    pub fn member(&self, member: &str) -> Option<&MemberAnswer> {
        self.members.iter().find(|m| m.member == member)
    }

    /// The categories `member` could see (empty if refused or not listed).
    pub fn categories_of(&self, member: &str) -> CategorySet {
        self.member(member)
            .map_or(CategorySet::EMPTY, |m| m.decision.categories())
    }

    /// Members allowed, in id order.
    pub fn allowed(&self) -> Vec<&MemberId> {
        self.members
            .iter()
            .filter(|m| m.decision.is_allowed())
            .map(|m| &m.member)
            .collect()
    }
}

impl PatientHistory {
    /// An empty history.
    pub fn new(patient_id: PatientId) -> Self {
        Self {
            patient_id,
            changes: Vec::new(),
        }
    }

    /// Adds a change recorded at `recorded_at` (call in stream order).
    pub fn record(&mut self, recorded_at: DateTime<Utc>, change: Change) {
        self.changes.push(Recorded {
            recorded_at,
            change,
        });
    }

    /// The changes a reading of the moment `at` takes into account.
    fn known(&self, at: DateTime<Utc>, reading: Reading) -> impl Iterator<Item = &Recorded> {
        self.changes.iter().filter(move |r| match reading {
            Reading::AsKnownThen => r.recorded_at <= at,
            Reading::InForceAsKnownToday => true,
        })
    }

    /// The patient's facts at `at` in this reading.
    pub fn facts(&self, at: DateTime<Utc>, reading: Reading) -> PatientAccessFacts {
        let mut facts = PatientAccessFacts::new(self.patient_id.clone());
        for r in self.known(at, reading) {
            facts.apply(&r.change);
        }
        facts.sequence = self.changes.len() as u64;
        if reading == Reading::InForceAsKnownToday {
            self.in_force(&mut facts, at);
        }
        facts
    }

    /// Members and sites at `at` in this reading.
    pub fn directory(&self, at: DateTime<Utc>, reading: Reading) -> Directory {
        let mut directory = Directory::default();
        for r in self.known(at, reading) {
            // Roles are not effective-dated apart from their change: a change made after
            // `at` did not hold then, whatever is known today.
            if let Change::MemberRolesChanged { effective_at, .. } = &r.change
                && *effective_at > at
            {
                continue;
            }
            directory.apply(&r.change);
        }
        directory
    }

    /// Rewrites what the recorded fold cannot know to be effective-dated: consent statuses
    /// (versions signed after `at` left out) and the home municipality at `at`.
    fn in_force(&self, facts: &mut PatientAccessFacts, at: DateTime<Utc>) {
        struct Version<'a> {
            consent_id: &'a ConsentId,
            version: u32,
            terms: &'a ConsentTerms,
            activated: bool,
            rejected: bool,
        }
        let mut versions: Vec<Version<'_>> = Vec::new();
        let mut withdrawn: BTreeMap<&ConsentId, DateTime<Utc>> = BTreeMap::new();
        let mut home: Option<&String> = None;
        let mut moves: Vec<(DateTime<Utc>, &String)> = Vec::new();
        for r in &self.changes {
            match &r.change {
                Change::PatientRegistered {
                    home_municipality, ..
                } => home = home.or(Some(home_municipality)),
                Change::PatientMoved {
                    home_municipality,
                    effective_at,
                } => moves.push((*effective_at, home_municipality)),
                Change::ConsentVersionRecorded { version: v } => {
                    versions.retain(|x| !(*x.consent_id == v.consent_id && x.version == v.version));
                    versions.push(Version {
                        consent_id: &v.consent_id,
                        version: v.version,
                        terms: &v.terms,
                        activated: v.status == ConsentStatus::Active,
                        rejected: false,
                    });
                }
                Change::ConsentActivated {
                    consent_id,
                    version,
                } => {
                    for x in versions.iter_mut() {
                        if x.consent_id == consent_id && x.version == *version && !x.rejected {
                            x.activated = true;
                        }
                    }
                }
                Change::ConsentRejected {
                    consent_id,
                    version,
                } => {
                    for x in versions.iter_mut() {
                        if x.consent_id == consent_id && x.version == *version && !x.activated {
                            x.rejected = true;
                        }
                    }
                }
                Change::ConsentWithdrawn {
                    consent_id,
                    effective_at,
                } => {
                    let w = withdrawn.entry(consent_id).or_insert(*effective_at);
                    *w = (*w).min(*effective_at);
                }
                _ => {}
            }
        }
        // A form signed after the moment did not exist then.
        facts
            .consents
            .retain(|v| start_of_day(v.terms.signed_on) <= at);
        for v in facts.consents.iter_mut() {
            let Some(known) = versions
                .iter()
                .find(|x| *x.consent_id == v.consent_id && x.version == v.version)
            else {
                continue;
            };
            let superseded = versions.iter().any(|later| {
                later.consent_id == known.consent_id
                    && later.version > known.version
                    && later.activated
                    && start_of_day(later.terms.valid_from) <= at
            });
            v.status = if withdrawn.get(known.consent_id).is_some_and(|w| *w <= at) {
                ConsentStatus::Withdrawn
            } else if known.activated && superseded {
                ConsentStatus::Superseded
            } else if known.activated {
                // Past its last day the decision says "expired" from the dates.
                ConsentStatus::Active
            } else if known.rejected {
                ConsentStatus::Rejected
            } else {
                ConsentStatus::Pending
            };
        }
        moves.sort_by_key(|(when, _)| *when);
        let moved = moves.iter().rev().find(|(when, _)| *when <= at);
        facts.home_municipality = moved.map(|(_, code)| *code).or(home).cloned();
    }

    /// Who could see the patient at `at`, which categories, and why, in this reading.
    pub fn who_could_see(&self, at: DateTime<Utc>, reading: Reading) -> WhoCouldSee {
        let facts = self.facts(at, reading);
        let directory = self.directory(at, reading);
        let ended = facts.care_ended_at.is_some_and(|e| e <= at);

        let mut sites = Vec::new();
        let mut candidates: Vec<MemberId> = Vec::new();
        for seat in facts.team.iter().filter(|m| m.held_at(at)) {
            let decision = if !facts.registered {
                AccessDecision::Denied {
                    reason: DenialReason::NotRegistered,
                }
            } else if ended {
                AccessDecision::Denied {
                    reason: DenialReason::CareEnded,
                }
            } else {
                match crate::decision::consent_covering(
                    &facts,
                    seat.site.as_str(),
                    CategorySet::ALL,
                    at,
                ) {
                    Ok(cover) => AccessDecision::Allowed {
                        basis: Basis::Consent {
                            consent_id: cover.consent.consent_id.clone(),
                            version: cover.consent.version,
                            team_membership: seat.membership_id.clone(),
                            site: seat.site.clone(),
                            family_information: cover.consent.terms.family_information,
                        },
                        categories: cover.categories,
                    },
                    Err(reason) => AccessDecision::Denied { reason },
                }
            };
            sites.push(SiteAnswer {
                membership_id: seat.membership_id.clone(),
                site: seat.site.clone(),
                member: seat.member.clone(),
                part: seat.part,
                decision,
            });
            match &seat.member {
                Some(m) => candidates.push(m.clone()),
                None => candidates.extend(directory.working_at(seat.site.as_str(), at)),
            }
        }
        candidates.extend(
            facts
                .break_glass
                .iter()
                .filter(|g| g.live_at(at))
                .map(|g| g.member_id.clone()),
        );
        candidates.sort();
        candidates.dedup();

        let members = candidates
            .into_iter()
            .filter_map(|member| {
                let caller = directory.caller_at(member.as_str(), at)?;
                let emergency = facts
                    .break_glass
                    .iter()
                    .any(|g| g.member_id == member && g.live_at(at));
                let request = AccessRequest {
                    member: &caller,
                    patient: self.patient_id.as_str(),
                    reach: Reach::ReadClinical {
                        categories: CategorySet::ALL,
                    },
                    purpose: if emergency {
                        Purpose::Emergency
                    } else {
                        Purpose::Care
                    },
                    at,
                    subject_last_sequence: None,
                };
                let decision = decide(&facts, &request);
                Some(MemberAnswer {
                    member,
                    profession: caller.subject.profession,
                    sites: caller.sites,
                    decision,
                })
            })
            .collect();

        WhoCouldSee {
            patient_id: self.patient_id.clone(),
            at,
            reading,
            registered: facts.registered,
            care_ended: ended,
            sites,
            members,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Given a patient's history, when an auditor asks who could see them on a date, then
    //! both readings answer — and differ exactly where something was recorded late.

    use chrono::NaiveDate;
    use permissions::{Profession, Role};

    use super::*;
    use crate::terms::{ConsentForm, ConsentModel, ConsentVersion, GivenBy, ObtainedBy};
    use crate::time::noon;
    use crate::{TeamMembership, TeamPart};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// 09:00 in Japan on a date: when the office records things.
    fn morning(s: &str) -> DateTime<Utc> {
        start_of_day(date(s)) + chrono::Duration::hours(9)
    }

    fn terms(model: ConsentModel, signed: &str) -> ConsentTerms {
        ConsentTerms {
            model,
            categories: CategorySet::ALL,
            valid_from: date(signed),
            valid_until: None,
            family_information: false,
            form: ConsentForm::Written,
            given_by: GivenBy::Patient,
            signed_on: date(signed),
            obtained_by: ObtainedBy {
                site: "care-office".into(),
                member: "cm".into(),
            },
            scanned_form: None,
        }
    }

    fn listed(sites: &[&str]) -> ConsentModel {
        ConsentModel::ListedSites {
            sites: sites.iter().map(|s| SiteId::from(*s)).collect(),
        }
    }

    fn pending(consent: &str, version: u32, terms: ConsentTerms) -> Change {
        Change::ConsentVersionRecorded {
            version: ConsentVersion {
                consent_id: consent.into(),
                version,
                terms,
                status: ConsentStatus::Pending,
            },
        }
    }

    fn activated(consent: &str, version: u32) -> Change {
        Change::ConsentActivated {
            consent_id: consent.into(),
            version,
        }
    }

    fn seat(id: &str, site: &str, member: Option<&str>, part: TeamPart) -> Change {
        Change::TeamMemberAdded {
            membership: TeamMembership {
                membership_id: id.into(),
                site: site.into(),
                member: member.map(MemberId::from),
                part,
                since: start_of_day(date("2026-09-01")),
                until: None,
            },
        }
    }

    fn works(h: &mut PatientHistory, member: &str, profession: Profession, site: &str) {
        let at = morning("2026-04-01");
        h.record(
            at,
            Change::MemberProfile {
                member: member.into(),
                profession,
                roles: vec![Role::Professional],
                municipality: Some("322032".into()),
            },
        );
        h.record(
            at,
            Change::MemberStartedAtSite {
                member: member.into(),
                site: site.into(),
                since: at,
            },
        );
    }

    /// Given: registered and teamed on 1 September; consent (clinic, nursing, care office)
    /// recorded on 1 September and verified on the 2nd; an amendment adding the pharmacy,
    /// signed on 1 October but recorded only on the 10th and verified on the 11th; a
    /// withdrawal the patient phoned in on 1 November, recorded on the 4th; a new consent of
    /// every site but the pharmacy, signed and recorded on 28 November, verified on 3 December.
    fn grant_amend_withdraw_regrant() -> PatientHistory {
        let mut h = PatientHistory::new("p1".into());
        works(&mut h, "dr", Profession::Physician, "clinic");
        works(&mut h, "ns", Profession::Nurse, "nursing");
        works(&mut h, "ph", Profession::Pharmacist, "pharmacy");
        works(&mut h, "cm", Profession::CareManager, "care-office");
        let sep1 = morning("2026-09-01");
        h.record(
            sep1,
            Change::PatientRegistered {
                home_municipality: "322032".into(),
                registering_site: Some("care-office".into()),
            },
        );
        h.record(sep1, seat("t-dr", "clinic", None, TeamPart::HomeDoctor));
        h.record(sep1, seat("t-ns", "nursing", None, TeamPart::VisitingNurse));
        h.record(sep1, seat("t-ph", "pharmacy", None, TeamPart::Pharmacy));
        h.record(
            sep1,
            seat("t-cm", "care-office", Some("cm"), TeamPart::CareManager),
        );
        let v1 = terms(listed(&["clinic", "nursing", "care-office"]), "2026-09-01");
        h.record(sep1, pending("c1", 1, v1));
        h.record(morning("2026-09-02"), activated("c1", 1));
        let v2 = terms(
            listed(&["clinic", "nursing", "care-office", "pharmacy"]),
            "2026-10-01",
        );
        h.record(morning("2026-10-10"), pending("c1", 2, v2));
        h.record(morning("2026-10-11"), activated("c1", 2));
        h.record(
            morning("2026-11-04"),
            Change::ConsentWithdrawn {
                consent_id: "c1".into(),
                effective_at: morning("2026-11-01"),
            },
        );
        let regrant = terms(
            ConsentModel::AllParticipatingSites {
                excluded: vec!["pharmacy".into()],
            },
            "2026-11-28",
        );
        h.record(morning("2026-11-28"), pending("c2", 1, regrant));
        h.record(morning("2026-12-03"), activated("c2", 1));
        h
    }

    /// What a member's answer says, short: the consent and version, or the reason.
    fn outcome(answer: &WhoCouldSee, member: &str) -> Result<(String, u32), DenialReason> {
        let m = answer
            .member(member)
            .unwrap_or_else(|| panic!("{member} is listed"));
        match &m.decision {
            AccessDecision::Allowed {
                basis:
                    Basis::Consent {
                        consent_id,
                        version,
                        ..
                    },
                categories,
            } => {
                assert_eq!(*categories, CategorySet::ALL, "{member}");
                Ok((consent_id.to_string(), *version))
            }
            AccessDecision::Allowed { basis, .. } => panic!("{member}: unexpected {basis:?}"),
            AccessDecision::Denied { reason } => Err(*reason),
        }
    }

    fn by(consent: &str, version: u32) -> Result<(String, u32), DenialReason> {
        Ok((consent.to_owned(), version))
    }

    fn ask(h: &PatientHistory, day: &str, reading: Reading) -> WhoCouldSee {
        h.who_could_see(noon(date(day)), reading)
    }

    #[test]
    fn on_15_september_both_readings_agree_the_first_version_covered_all_but_the_pharmacy() {
        let h = grant_amend_withdraw_regrant();
        for reading in [Reading::AsKnownThen, Reading::InForceAsKnownToday] {
            let answer = ask(&h, "2026-09-15", reading);
            for member in ["dr", "ns", "cm"] {
                assert_eq!(
                    outcome(&answer, member),
                    by("c1", 1),
                    "{reading:?} {member}"
                );
            }
            assert_eq!(
                outcome(&answer, "ph"),
                Err(DenialReason::SiteNotCovered),
                "{reading:?}"
            );
            assert_eq!(answer.sites.len(), 4);
        }
    }

    #[test]
    fn on_5_october_the_amendment_recorded_late_was_in_force_but_not_yet_known() {
        let h = grant_amend_withdraw_regrant();
        let then = ask(&h, "2026-10-05", Reading::AsKnownThen);
        assert_eq!(outcome(&then, "ph"), Err(DenialReason::SiteNotCovered));
        assert_eq!(outcome(&then, "ns"), by("c1", 1));

        let today = ask(&h, "2026-10-05", Reading::InForceAsKnownToday);
        for member in ["dr", "ns", "cm", "ph"] {
            assert_eq!(outcome(&today, member), by("c1", 2), "{member}");
        }
    }

    #[test]
    fn on_2_november_the_withdrawal_phoned_in_the_day_before_was_not_yet_recorded() {
        let h = grant_amend_withdraw_regrant();
        let then = ask(&h, "2026-11-02", Reading::AsKnownThen);
        for member in ["dr", "ns", "cm", "ph"] {
            assert_eq!(outcome(&then, member), by("c1", 2), "{member}");
        }
        let today = ask(&h, "2026-11-02", Reading::InForceAsKnownToday);
        assert!(today.allowed().is_empty());
        for member in ["dr", "ns", "cm", "ph"] {
            assert_eq!(
                outcome(&today, member),
                Err(DenialReason::ConsentWithdrawn),
                "{member}"
            );
        }
    }

    #[test]
    fn on_1_december_the_new_consent_was_signed_but_waited_for_verification() {
        let h = grant_amend_withdraw_regrant();
        let then = ask(&h, "2026-12-01", Reading::AsKnownThen);
        assert!(then.allowed().is_empty());
        for member in ["dr", "ns", "cm"] {
            assert_eq!(
                outcome(&then, member),
                Err(DenialReason::ConsentPending),
                "{member}"
            );
        }
        // The pending consent excludes the pharmacy: waiting would not open it.
        assert_eq!(outcome(&then, "ph"), Err(DenialReason::ConsentWithdrawn));
        let today = ask(&h, "2026-12-01", Reading::InForceAsKnownToday);
        for member in ["dr", "ns", "cm"] {
            assert_eq!(outcome(&today, member), by("c2", 1), "{member}");
        }
        assert_eq!(outcome(&today, "ph"), Err(DenialReason::SiteExcluded));
    }

    #[test]
    fn each_seat_says_what_its_site_could_see() {
        let h = grant_amend_withdraw_regrant();
        let answer = ask(&h, "2026-12-15", Reading::AsKnownThen);
        let site = |id: &str| {
            answer
                .sites
                .iter()
                .find(|s| s.membership_id == id)
                .map(|s| s.decision.clone())
                .unwrap()
        };
        assert!(site("t-ns").is_allowed());
        assert_eq!(site("t-ph").reason(), Some(DenialReason::SiteExcluded));
        assert_eq!(answer.sites.len(), 4);
        assert_eq!(answer.allowed().len(), 3);
    }

    #[test]
    fn a_death_recorded_two_days_late_ended_care_in_force_but_not_as_known_then() {
        let mut h = grant_amend_withdraw_regrant();
        h.record(
            morning("2026-12-22"),
            Change::CareEnded {
                effective_at: morning("2026-12-20"),
            },
        );
        let then = ask(&h, "2026-12-21", Reading::AsKnownThen);
        assert!(!then.care_ended);
        assert_eq!(outcome(&then, "ns"), by("c2", 1));
        let today = ask(&h, "2026-12-21", Reading::InForceAsKnownToday);
        assert!(today.care_ended);
        assert_eq!(outcome(&today, "ns"), Err(DenialReason::CareEnded));
    }

    #[test]
    fn a_nurse_who_left_the_station_is_no_longer_listed_and_a_break_glass_holder_is() {
        let mut h = grant_amend_withdraw_regrant();
        h.record(
            morning("2026-12-10"),
            Change::MemberLeftSite {
                member: "ns".into(),
                site: "nursing".into(),
                effective_at: morning("2026-12-10"),
            },
        );
        works(&mut h, "er", Profession::Physician, "hospital");
        let opened = morning("2026-12-15");
        h.record(
            opened,
            Change::BreakGlassOpened {
                grant: crate::BreakGlassGrant {
                    grant_id: "g1".into(),
                    member_id: "er".into(),
                    reason: "救急搬送".into(),
                    opened_at: opened,
                    expires_at: opened + chrono::Duration::hours(4),
                },
            },
        );
        let answer = h.who_could_see(opened + chrono::Duration::hours(1), Reading::AsKnownThen);
        assert!(answer.member("ns").is_none());
        assert!(answer.member("er").unwrap().decision.is_break_glass());
        let later = h.who_could_see(opened + chrono::Duration::hours(5), Reading::AsKnownThen);
        assert!(later.member("er").is_none());
    }

    #[test]
    fn the_fold_as_known_now_is_the_live_projection() {
        let h = grant_amend_withdraw_regrant();
        let now = morning("2027-01-01");
        let mut live = PatientAccessFacts::new("p1".into());
        for r in &h.changes {
            live.apply(&r.change);
        }
        let mut then = h.facts(now, Reading::AsKnownThen);
        then.sequence = 0;
        assert_eq!(then, live);
        let statuses: Vec<_> = live
            .consents
            .iter()
            .map(|v| (v.consent_id.as_str(), v.version, v.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("c1", 1, ConsentStatus::Superseded),
                ("c1", 2, ConsentStatus::Withdrawn),
                ("c2", 1, ConsentStatus::Active)
            ]
        );
    }

    #[test]
    fn a_role_change_holds_from_when_it_was_made_in_both_readings() {
        let mut h = PatientHistory::new("p1".into());
        works(&mut h, "ns", Profession::Nurse, "nursing");
        h.record(
            morning("2026-10-01"),
            Change::MemberRolesChanged {
                member: "ns".into(),
                roles: vec![Role::SiteAdmin, Role::Professional],
                effective_at: morning("2026-10-01"),
            },
        );
        let roles = |at: &str, reading| {
            h.directory(morning(at), reading).members[&MemberId::from("ns")]
                .roles
                .clone()
        };
        for reading in [Reading::AsKnownThen, Reading::InForceAsKnownToday] {
            assert_eq!(roles("2026-09-15", reading), vec![Role::Professional]);
            assert_eq!(
                roles("2026-10-02", reading),
                vec![Role::SiteAdmin, Role::Professional]
            );
        }
    }
}
