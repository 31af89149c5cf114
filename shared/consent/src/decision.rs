//! The decision: may this member reach this patient's data, now, for this purpose — and
//! because of what?

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use permissions::{Action, Caller, Decision, Relationship, Role};
use serde::{Deserialize, Serialize};

use crate::facts::PatientAccessFacts;
use crate::ids::{ConsentId, GrantId, MembershipId, SiteId};
use crate::team::TeamMembership;
use crate::terms::{CategorySet, ConsentStatus, ConsentVersion, Purpose, SiteCoverage};
use crate::time::date_in_japan;

/// What a request reaches of a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reach {
    /// Registration data: that the patient is registered, their consent status and team
    /// composition — no clinical content, no consent needed. The team, the registering site
    /// and the secretariat of the patient's home municipality read it.
    Registration,
    /// Read clinical content of these categories. The answer may allow fewer than asked
    /// (what the consent covers); the service returns only those.
    ReadClinical {
        /// The categories asked (at least one).
        categories: CategorySet,
    },
    /// Write clinical content of these categories: all of them are allowed, or none.
    WriteClinical {
        /// The categories written (at least one).
        categories: CategorySet,
    },
    /// The record of who accessed this patient's data: auditors, always (also after the end
    /// of care), never anyone else.
    AccessRecord,
}

impl Reach {
    /// The permission rules' action for this reach.
    pub const fn action(self) -> Action {
        match self {
            Self::Registration => Action::ReadPatientRegistration,
            Self::ReadClinical { .. } => Action::ReadPatientClinical,
            Self::WriteClinical { .. } => Action::WritePatientClinical,
            Self::AccessRecord => Action::ReadAuditLog,
        }
    }

    /// The clinical categories asked (none for registration and the access record).
    pub const fn categories(self) -> CategorySet {
        match self {
            Self::ReadClinical { categories } | Self::WriteClinical { categories } => categories,
            Self::Registration | Self::AccessRecord => CategorySet::EMPTY,
        }
    }

    /// May a request for this reach be made for `purpose`? Clinical content serves care and
    /// emergencies; registration data care, emergencies and administration; the access
    /// record audits only.
    pub const fn fits(self, purpose: Purpose) -> bool {
        match self {
            Self::ReadClinical { .. } | Self::WriteClinical { .. } => {
                matches!(purpose, Purpose::Care | Purpose::Emergency)
            }
            // Auditors read who a patient is (never what is in their record) to follow up
            // an access: the registration fits an audit too.
            Self::Registration => matches!(
                purpose,
                Purpose::Care | Purpose::Emergency | Purpose::Administration | Purpose::Audit
            ),
            Self::AccessRecord => matches!(purpose, Purpose::Audit),
        }
    }
}

/// One question: may `member` reach `reach` of `patient`, for `purpose`, at `at`?
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// Who asks, as the gateway verified them: roles, profession, the sites they work at
    /// (their seats on the team and the consent's sites are matched against these) and
    /// their municipality.
    pub member: &'a Caller,
    /// The patient.
    pub patient: &'a str,
    /// What is asked.
    pub reach: Reach,
    /// Why.
    pub purpose: Purpose,
    /// When (the service's clock).
    pub at: DateTime<Utc>,
    /// The last sequence of the patient's subject as the stream reports it now. When the
    /// facts have not folded it yet (a withdrawal may be in flight), the request is refused:
    /// deciding on stale facts would let the next request after a withdrawal through. `None`
    /// only where the facts are known to be complete (time travel, tests, benchmarks).
    pub subject_last_sequence: Option<u64>,
}

/// The answer, with its reason either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AccessDecision {
    /// Allowed.
    Allowed {
        /// Why.
        basis: Basis,
        /// The clinical categories allowed (a subset of those asked; empty for registration
        /// data and the access record).
        categories: CategorySet,
    },
    /// Refused.
    Denied {
        /// Why.
        reason: DenialReason,
    },
}

impl AccessDecision {
    /// Was it allowed?
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }

    /// Was it allowed only by a break-glass grant? The caller must flag it to the
    /// coordination centre and auditors and mark it for the patient's access report.
    pub fn is_break_glass(&self) -> bool {
        matches!(
            self,
            Self::Allowed {
                basis: Basis::BreakGlass { .. },
                ..
            }
        )
    }

    /// The basis, when allowed.
    pub fn basis(&self) -> Option<&Basis> {
        match self {
            Self::Allowed { basis, .. } => Some(basis),
            Self::Denied { .. } => None,
        }
    }

    /// The reason, when refused.
    pub fn reason(&self) -> Option<DenialReason> {
        match self {
            Self::Allowed { .. } => None,
            Self::Denied { reason } => Some(*reason),
        }
    }

    /// The categories allowed (empty when refused).
    pub fn categories(&self) -> CategorySet {
        match self {
            Self::Allowed { categories, .. } => *categories,
            Self::Denied { .. } => CategorySet::EMPTY,
        }
    }
}

/// Why a request was allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Basis {
    /// Clinical content through the team and an active consent covering the seat's site.
    Consent {
        /// The consent.
        consent_id: ConsentId,
        /// Its version in force.
        version: u32,
        /// The member's seat on the team.
        team_membership: MembershipId,
        /// The seat's site, which the consent covers.
        site: SiteId,
        /// The consent also covers information about the family: without it, the service
        /// leaves family information out.
        family_information: bool,
    },
    /// The emergency exception: a live break-glass grant, no consent. Flag it.
    BreakGlass {
        /// The grant.
        grant_id: GrantId,
        /// When it ends by itself.
        expires_at: DateTime<Utc>,
    },
    /// Registration data by the permission rules, through this tie (the team, the
    /// registering site, the home municipality's secretariat). No consent needed.
    Registration {
        /// The tie that allowed it.
        tie: Relationship,
    },
    /// The access record, read by an auditor.
    Audit,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DenialReason {
    /// The permission rules refuse this member whatever their tie to the patient: fire and
    /// police, the secretariat and auditors for clinical content, a role or profession no
    /// rule names. Decided before the patient's facts are read, so it tells nothing about them.
    NotPermitted {
        /// The rules' reason.
        rule: permissions::DenialReason,
    },
    /// The purpose does not fit what is asked (see [`Reach::fits`]).
    PurposeDoesNotFit,
    /// A clinical request named no category.
    NoCategoryAsked,
    /// The facts passed belong to another patient (a caller's mistake; refused, not trusted).
    FactsForAnotherPatient,
    /// The facts lag behind the patient's subject: decided later, once they have caught up.
    FactsBehind {
        /// The sequence the facts have folded.
        facts_sequence: u64,
        /// The subject's last sequence.
        subject_sequence: u64,
    },
    /// No patient is registered under this id.
    NotRegistered,
    /// The patient's care has ended: nobody but auditors.
    CareEnded,
    /// The member is not on the patient's team (as a member, or working at a team site), not
    /// at the registering site, and holds no live break-glass grant.
    NotOnCareTeam,
    /// The secretariat of another municipality than the patient's home.
    OtherMunicipality,
    /// Only a break-glass grant would open it, and break-glass serves emergencies only.
    BreakGlassOnlyForEmergencies,
    /// The patient has no consent at all.
    NoConsent,
    /// The secretariat refused the consent form; nothing else is in force.
    ConsentRejected,
    /// The consent's last valid day has passed.
    ConsentExpired,
    /// The patient withdrew the consent.
    ConsentWithdrawn,
    /// The consent is recorded but not yet verified by the secretariat: it opens nothing.
    ConsentPending,
    /// The consent is not valid yet (its first day is later).
    ConsentNotYetValid,
    /// The patient excluded the member's site by name (一括同意 with exclusions).
    SiteExcluded,
    /// No consent in force names the member's site.
    SiteNotCovered,
    /// The consent covers the member's site, but not the categories asked (for a write, not
    /// all of them).
    CategoriesNotCovered,
}

impl DenialReason {
    /// A stable machine-readable name (the serde `kind`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotPermitted { .. } => "not_permitted",
            Self::PurposeDoesNotFit => "purpose_does_not_fit",
            Self::NoCategoryAsked => "no_category_asked",
            Self::FactsForAnotherPatient => "facts_for_another_patient",
            Self::FactsBehind { .. } => "facts_behind",
            Self::NotRegistered => "not_registered",
            Self::CareEnded => "care_ended",
            Self::NotOnCareTeam => "not_on_care_team",
            Self::OtherMunicipality => "other_municipality",
            Self::BreakGlassOnlyForEmergencies => "break_glass_only_for_emergencies",
            Self::NoConsent => "no_consent",
            Self::ConsentRejected => "consent_rejected",
            Self::ConsentExpired => "consent_expired",
            Self::ConsentWithdrawn => "consent_withdrawn",
            Self::ConsentPending => "consent_pending",
            Self::ConsentNotYetValid => "consent_not_yet_valid",
            Self::SiteExcluded => "site_excluded",
            Self::SiteNotCovered => "site_not_covered",
            Self::CategoriesNotCovered => "categories_not_covered",
        }
    }
}

impl fmt::Display for DenialReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPermitted { rule } => write!(f, "not permitted: {rule}"),
            Self::FactsBehind {
                facts_sequence,
                subject_sequence,
            } => write!(
                f,
                "facts behind: facts_sequence={facts_sequence} subject_sequence={subject_sequence}"
            ),
            other => f.write_str(&other.as_str().replace('_', " ")),
        }
    }
}

impl std::error::Error for DenialReason {}

/// May the member reach what they ask of this patient? See the crate documentation for the
/// order of the checks. Pure and allocation-light: call it on every request.
pub fn decide(facts: &PatientAccessFacts, request: &AccessRequest<'_>) -> AccessDecision {
    match decide_inner(facts, request) {
        Ok((basis, categories)) => AccessDecision::Allowed { basis, categories },
        Err(reason) => AccessDecision::Denied { reason },
    }
}

fn decide_inner(
    facts: &PatientAccessFacts,
    request: &AccessRequest<'_>,
) -> Result<(Basis, CategorySet), DenialReason> {
    use DenialReason as R;
    let caller = request.member;
    let subject = &caller.subject;
    let reach = request.reach;
    let action = reach.action();
    let at = request.at;

    // 1. What the rules refuse whatever the tie (hard rules, roles, professions): decided
    //    before anything about the patient is read.
    if let Decision::Denied { reason } = permissions::decide(subject, action, Relationship::ALL) {
        return Err(R::NotPermitted { rule: reason });
    }
    if !reach.fits(request.purpose) {
        return Err(R::PurposeDoesNotFit);
    }
    // An audit is the auditors' purpose, and the only one an auditor acts for.
    if (request.purpose == Purpose::Audit) != subject.has_role(Role::Auditor) {
        return Err(R::PurposeDoesNotFit);
    }
    let asked = reach.categories();
    if matches!(
        reach,
        Reach::ReadClinical { .. } | Reach::WriteClinical { .. }
    ) && asked.is_empty()
    {
        return Err(R::NoCategoryAsked);
    }

    // 2. The facts are this patient's and current.
    if facts.patient_id != request.patient {
        return Err(R::FactsForAnotherPatient);
    }
    let behind = request
        .subject_last_sequence
        .filter(|latest| facts.sequence < *latest);
    if let Some(latest) = behind {
        return Err(R::FactsBehind {
            facts_sequence: facts.sequence,
            subject_sequence: latest,
        });
    }

    // 3. The access record is the auditors', whatever became of the patient.
    if reach == Reach::AccessRecord {
        return Ok((Basis::Audit, CategorySet::EMPTY));
    }

    // 4. A registered patient still in care. After the end of care the team's access ends,
    //    but the registration stays in its municipality's registry: only the tie to that
    //    municipality still counts, and only for registration data.
    if !facts.registered {
        return Err(R::NotRegistered);
    }
    let care_ended = facts.care_ended_at.is_some_and(|ended| ended <= at);
    if care_ended && reach != Reach::Registration {
        return Err(R::CareEnded);
    }

    // 5. The ties between the member and the patient, and the rules with them.
    // The first seat the caller holds; the consent check starts there.
    let first_seat = facts
        .team
        .iter()
        .position(|m| seated(m, caller, at))
        .filter(|_| !care_ended);
    let on_team = first_seat.is_some();
    let grant = facts
        .break_glass
        .iter()
        .find(|g| g.member_id == caller.member_id && g.live_at(at))
        .filter(|_| !care_ended);
    let registering_site = !care_ended
        && facts
            .registering_site
            .as_ref()
            .is_some_and(|s| caller.sites.iter().any(|c| s == c));
    let own_municipality = matches!(
        (&facts.home_municipality, &caller.municipality),
        (Some(home), Some(theirs)) if home == theirs
    );
    let mut ties = [Relationship::None; 4];
    let mut n = 0;
    for (holds, tie) in [
        (on_team, Relationship::OnPatientTeam),
        (registering_site, Relationship::RegisteringSite),
        (own_municipality, Relationship::OwnMunicipality),
        (grant.is_some(), Relationship::BreakGlass),
    ] {
        if holds {
            ties[n] = tie;
            n += 1;
        }
    }
    let ties = &ties[..n];
    let permit = match permissions::authorize(subject, action, ties) {
        Ok(permit) => permit,
        Err(permissions::DenialReason::RelationshipMissing) => {
            let cares = subject.has_role(Role::Professional)
                || subject.has_role(Role::CommunitySupportCentreStaff);
            return Err(if care_ended {
                R::CareEnded
            } else if cares {
                R::NotOnCareTeam
            } else {
                R::OtherMunicipality
            });
        }
        Err(rule) => return Err(R::NotPermitted { rule }),
    };

    // 6. Break-glass alone: the emergency exception, no consent.
    let by_break_glass = |grant: &crate::BreakGlassGrant| {
        if request.purpose != crate::Purpose::Emergency {
            return Err(R::BreakGlassOnlyForEmergencies);
        }
        Ok((
            Basis::BreakGlass {
                grant_id: grant.grant_id.clone(),
                expires_at: grant.expires_at,
            },
            asked,
        ))
    };
    if permit.by_break_glass() {
        return match grant {
            Some(grant) => by_break_glass(grant),
            None => Err(R::NotOnCareTeam),
        };
    }

    // 7. Registration data: the rules are enough.
    if !permit.needs_consent() {
        let tie = permit
            .rule()
            .relationships
            .iter()
            .copied()
            .find(|t| ties.contains(t))
            .unwrap_or(Relationship::None);
        return Ok((Basis::Registration { tie }, CategorySet::EMPTY));
    }

    // 8. Clinical content through the team: a seat whose site an active consent covers.
    let write = matches!(reach, Reach::WriteClinical { .. });
    let seats = &facts.team[first_seat.unwrap_or(facts.team.len())..];
    match through_consent(facts, seats, caller, asked, write, at) {
        Ok(found) => Ok(found),
        Err(reason) => {
            // A clinical team member the consent does not cover may still break the glass.
            let emergency = grant.filter(|_| {
                request.purpose == crate::Purpose::Emergency
                    && permissions::decide(subject, action, &[Relationship::BreakGlass])
                        .is_allowed()
            });
            match emergency {
                Some(grant) => by_break_glass(grant),
                None => Err(reason),
            }
        }
    }
}

/// Does the caller hold this seat at `at`?
fn seated(seat: &TeamMembership, caller: &Caller, at: DateTime<Utc>) -> bool {
    seat.held_at(at) && seat.seats(&caller.member_id, &caller.sites)
}

/// The best consent over every seat the caller holds; or the most telling reason.
fn through_consent<'a>(
    facts: &'a PatientAccessFacts,
    seats: &'a [TeamMembership],
    caller: &Caller,
    asked: CategorySet,
    write: bool,
    at: DateTime<Utc>,
) -> Result<(Basis, CategorySet), DenialReason> {
    let mut best: Option<(&TeamMembership, ConsentCover<'_>)> = None;
    let mut closest = Closest::default();
    let day = date_in_japan(at);
    for seat in seats.iter().filter(|m| seated(m, caller, at)) {
        match cover(facts, seat.site.as_str(), asked, day) {
            Ok(found) => {
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| found.categories.len() > b.categories.len())
                {
                    best = Some((seat, found));
                }
            }
            Err(c) => closest.offer(c.rank, c.reason),
        }
    }
    let Some((seat, found)) = best else {
        return Err(closest.reason);
    };
    if write && found.categories != asked {
        return Err(DenialReason::CategoriesNotCovered);
    }
    Ok((
        Basis::Consent {
            consent_id: found.consent.consent_id.clone(),
            version: found.consent.version,
            team_membership: seat.membership_id.clone(),
            site: seat.site.clone(),
            family_information: found.consent.terms.family_information,
        },
        found.categories,
    ))
}

/// A consent version in force that covers a site, and the categories it opens of those asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentCover<'a> {
    /// The version.
    pub consent: &'a ConsentVersion,
    /// The categories asked that it opens (never empty).
    pub categories: CategorySet,
}

/// A refusal with how far it got, for picking the most telling one.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    rank: u8,
    reason: DenialReason,
}

#[derive(Debug, Clone, Copy)]
struct Closest {
    rank: u8,
    reason: DenialReason,
}

impl Default for Closest {
    fn default() -> Self {
        Self {
            rank: 0,
            reason: DenialReason::NoConsent,
        }
    }
}

impl Closest {
    fn offer(&mut self, rank: u8, reason: DenialReason) {
        if rank > self.rank {
            self.rank = rank;
            self.reason = reason;
        }
    }
}

/// Which active consent covers `site` for the categories `asked` at `at`? The version
/// opening the most of them wins (the first, on a tie). Team membership is not looked at:
/// this is the consent half of the decision, for callers that already know the seat (time
/// travel lists what each team site could see). Refused with the most telling reason, in
/// this order: categories not covered, dates, pending (of consents naming the site); the
/// site excluded or not named by a consent in force; withdrawn, expired, rejected (of
/// consents naming the site); excluded or not named by one no longer in force; no consent.
pub fn consent_covering<'a>(
    facts: &'a PatientAccessFacts,
    site: &str,
    asked: CategorySet,
    at: DateTime<Utc>,
) -> Result<ConsentCover<'a>, DenialReason> {
    cover(facts, site, asked, date_in_japan(at)).map_err(|c| c.reason)
}

fn cover<'a>(
    facts: &'a PatientAccessFacts,
    site: &str,
    asked: CategorySet,
    day: NaiveDate,
) -> Result<ConsentCover<'a>, Ranked> {
    use DenialReason as R;
    // The common case first, touching as little as possible: versions in force today that
    // open some of what is asked, and only then whether they name the site.
    let mut best: Option<ConsentCover<'a>> = None;
    for v in &facts.consents {
        if v.status != ConsentStatus::Active || !v.terms.valid_on(day) {
            continue;
        }
        let categories = asked.intersection(v.terms.categories);
        if categories.is_empty()
            || best
                .as_ref()
                .is_some_and(|b| categories.len() <= b.categories.len())
        {
            continue;
        }
        if v.terms.model.covers(site) == SiteCoverage::Covered {
            best = Some(ConsentCover {
                consent: v,
                categories,
            });
        }
    }
    if let Some(best) = best {
        return Ok(best);
    }

    // Refused: find the most telling reason.
    let mut closest = Closest::default();
    for v in &facts.consents {
        if v.status == ConsentStatus::Superseded {
            continue;
        }
        let terms = &v.terms;
        // The further a version got, the more its reason tells. A consent in force that does
        // not name (or excludes) the site is the patient's current word and outranks an old
        // withdrawn or expired one that named it; a pending one naming it outranks both.
        let current = v.status == ConsentStatus::Active && terms.valid_on(day);
        let (rank, reason) = match (terms.model.covers(site), v.status) {
            (SiteCoverage::NotNamed, _) if !current => (1, R::SiteNotCovered),
            (SiteCoverage::Excluded, _) if !current => (2, R::SiteExcluded),
            (SiteCoverage::NotNamed, _) => (6, R::SiteNotCovered),
            (SiteCoverage::Excluded, _) => (7, R::SiteExcluded),
            (SiteCoverage::Covered, ConsentStatus::Superseded) => continue,
            (SiteCoverage::Covered, ConsentStatus::Rejected) => (3, R::ConsentRejected),
            (SiteCoverage::Covered, ConsentStatus::Expired) => (4, R::ConsentExpired),
            (SiteCoverage::Covered, ConsentStatus::Withdrawn) => (5, R::ConsentWithdrawn),
            (SiteCoverage::Covered, ConsentStatus::Pending) => (8, R::ConsentPending),
            (SiteCoverage::Covered, ConsentStatus::Active) if !current => {
                if day < terms.valid_from {
                    (9, R::ConsentNotYetValid)
                } else {
                    (9, R::ConsentExpired)
                }
            }
            // In force, naming the site: the fast pass found nothing asked in it.
            (SiteCoverage::Covered, ConsentStatus::Active) => (10, R::CategoriesNotCovered),
        };
        closest.offer(rank, reason);
    }
    Err(Ranked {
        rank: closest.rank,
        reason: closest.reason,
    })
}
