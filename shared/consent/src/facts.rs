//! What a service holds about one patient to decide access, and the changes that build it.
//!
//! Every service that serves patient data projects the identity context's patient events
//! into one [`PatientAccessFacts`] per patient (in memory or in its own tables) by
//! [`PatientAccessFacts::apply`]ing each event's [`Change`]s in stream order, and remembers
//! the subject sequence it has folded. The same fold, cut off at a date, is the "as the
//! platform knew then" reading of time travel ([`crate::history`]).

use chrono::{DateTime, Utc};
use permissions::{Profession, Role};
use serde::{Deserialize, Serialize};

use crate::break_glass::BreakGlassGrant;
use crate::ids::{ConsentId, GrantId, MemberId, MembershipId, PatientId, SiteId};
use crate::team::TeamMembership;
use crate::terms::{ConsentStatus, ConsentVersion};

/// Everything the decision needs to know about one patient.
///
/// Versions and seats that ended are kept (their status or `until` says so): the decision
/// skips them, and a refusal can then say *why* ("withdrawn", not just "no consent").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientAccessFacts {
    /// The patient.
    pub patient_id: PatientId,
    /// The patient is registered with the network.
    pub registered: bool,
    /// The patient's home municipality (6-digit local government code), the secretariat's
    /// tie to them.
    pub home_municipality: Option<String>,
    /// The site that registered the patient (its staff read the registration data).
    pub registering_site: Option<SiteId>,
    /// Care ended (death, or admission to a facility outside the network) at this instant:
    /// from then on nobody but auditors reaches the patient.
    pub care_ended_at: Option<DateTime<Utc>>,
    /// Every version of every consent, with its status.
    pub consents: Vec<ConsentVersion>,
    /// Every seat on the team, held or ended.
    pub team: Vec<TeamMembership>,
    /// Break-glass grants (live or ended).
    pub break_glass: Vec<BreakGlassGrant>,
    /// The last sequence of the patient's subject folded into these facts (0: none). A
    /// decision is refused when the subject has moved past it
    /// ([`crate::AccessRequest::subject_last_sequence`]).
    pub sequence: u64,
}

/// One change to what is known about a patient (or, for time travel, about the members and
/// sites that may be on their team). The identity service maps its events to these; times in
/// them are *effective* times (when it took effect in the world), while the time it was
/// *recorded* travels beside it ([`crate::history::Recorded`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    // ── the patient ────────────────────────────────────────────────────────────────
    /// The patient was registered.
    PatientRegistered {
        /// Home municipality code.
        home_municipality: String,
        /// The registering site (none when the secretariat registered them).
        registering_site: Option<SiteId>,
    },
    /// The patient moved to another municipality.
    PatientMoved {
        /// The new home municipality code.
        home_municipality: String,
        /// When the move took effect.
        effective_at: DateTime<Utc>,
    },
    /// Care ended (death, admission outside the network): closes everything.
    CareEnded {
        /// When it ended.
        effective_at: DateTime<Utc>,
    },
    // ── consent ────────────────────────────────────────────────────────────────────
    /// A version of a consent was recorded: version 1 of a new consent, or an amendment.
    /// `Pending` until verified; `Active` at once for an amendment that only narrows.
    ConsentVersionRecorded {
        /// The version, with its status.
        version: ConsentVersion,
    },
    /// The secretariat verified and activated a version; earlier versions are superseded.
    ConsentActivated {
        /// The consent.
        consent_id: ConsentId,
        /// The version.
        version: u32,
    },
    /// The secretariat refused a pending version.
    ConsentRejected {
        /// The consent.
        consent_id: ConsentId,
        /// The version.
        version: u32,
    },
    /// The patient withdrew the consent (every version).
    ConsentWithdrawn {
        /// The consent.
        consent_id: ConsentId,
        /// When the patient withdrew it (it may be recorded later).
        effective_at: DateTime<Utc>,
    },
    /// A version's last valid day passed.
    ConsentExpired {
        /// The consent.
        consent_id: ConsentId,
        /// The version.
        version: u32,
    },
    // ── the team ───────────────────────────────────────────────────────────────────
    /// A seat was added to the team.
    TeamMemberAdded {
        /// The seat.
        membership: TeamMembership,
    },
    /// A seat was removed from the team.
    TeamMemberRemoved {
        /// The seat.
        membership_id: MembershipId,
        /// When it ended.
        effective_at: DateTime<Utc>,
    },
    /// A break-glass access was opened.
    BreakGlassOpened {
        /// The grant.
        grant: BreakGlassGrant,
    },
    /// A break-glass access was closed before its time.
    BreakGlassClosed {
        /// The grant.
        grant_id: GrantId,
        /// When it closed.
        effective_at: DateTime<Utc>,
    },
    // ── members and sites (time travel only; a live decision reads them from the caller) ─
    /// A member joined the platform (or their profession or roles changed).
    MemberProfile {
        /// The member.
        member: MemberId,
        /// Profession.
        profession: Profession,
        /// Roles.
        roles: Vec<Role>,
        /// Their municipality.
        municipality: Option<String>,
    },
    /// Someone who manages the member gave them another set of roles.
    MemberRolesChanged {
        /// The member.
        member: MemberId,
        /// The roles from then on.
        roles: Vec<Role>,
        /// From when.
        effective_at: DateTime<Utc>,
    },
    /// A member started working at a site.
    MemberStartedAtSite {
        /// The member.
        member: MemberId,
        /// The site.
        site: SiteId,
        /// From when.
        since: DateTime<Utc>,
    },
    /// A member stopped working at a site.
    MemberLeftSite {
        /// The member.
        member: MemberId,
        /// The site.
        site: SiteId,
        /// From when.
        effective_at: DateTime<Utc>,
    },
    /// A member left the platform (every site).
    MemberDeactivated {
        /// The member.
        member: MemberId,
        /// From when.
        effective_at: DateTime<Utc>,
    },
    /// A site closed: nobody works there any more.
    SiteClosed {
        /// The site.
        site: SiteId,
        /// From when.
        effective_at: DateTime<Utc>,
    },
}

impl Change {
    /// Is this a change about members and sites (not about the patient)?
    pub fn is_directory(&self) -> bool {
        matches!(
            self,
            Self::MemberProfile { .. }
                | Self::MemberRolesChanged { .. }
                | Self::MemberStartedAtSite { .. }
                | Self::MemberLeftSite { .. }
                | Self::MemberDeactivated { .. }
                | Self::SiteClosed { .. }
        )
    }
}

impl PatientAccessFacts {
    /// Facts of a patient nobody has registered (every request is refused).
    pub fn new(patient_id: PatientId) -> Self {
        Self {
            patient_id,
            registered: false,
            home_municipality: None,
            registering_site: None,
            care_ended_at: None,
            consents: Vec::new(),
            team: Vec::new(),
            break_glass: Vec::new(),
            sequence: 0,
        }
    }

    /// Folds one change in, as the platform records it: statuses change when the change is
    /// recorded (a withdrawal refuses from the moment it is recorded, whatever effective time
    /// it carries); seats, grants and the end of care carry their effective times. Changes
    /// about members and sites are ignored (the caller brings their own). Applying the same
    /// change twice changes nothing more.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::PatientRegistered {
                home_municipality,
                registering_site,
            } => {
                self.registered = true;
                self.home_municipality = Some(home_municipality.clone());
                self.registering_site = registering_site.clone();
            }
            Change::PatientMoved {
                home_municipality, ..
            } => self.home_municipality = Some(home_municipality.clone()),
            Change::CareEnded { effective_at } => {
                self.care_ended_at = Some(
                    self.care_ended_at
                        .map_or(*effective_at, |e| e.min(*effective_at)),
                );
            }
            Change::ConsentVersionRecorded { version } => {
                let at = self.consents.iter().position(|v| {
                    v.consent_id == version.consent_id && v.version == version.version
                });
                match at {
                    Some(i) => self.consents[i] = version.clone(),
                    None => self.consents.push(version.clone()),
                }
                if version.status == ConsentStatus::Active {
                    self.supersede_before(&version.consent_id, version.version);
                }
            }
            Change::ConsentActivated {
                consent_id,
                version,
            } => {
                let pending = self
                    .version_mut(consent_id, *version)
                    .filter(|v| v.status == ConsentStatus::Pending);
                if let Some(v) = pending {
                    v.status = ConsentStatus::Active;
                    self.supersede_before(consent_id, *version);
                }
            }
            Change::ConsentRejected {
                consent_id,
                version,
            } => {
                let pending = self
                    .version_mut(consent_id, *version)
                    .filter(|v| v.status == ConsentStatus::Pending);
                if let Some(v) = pending {
                    v.status = ConsentStatus::Rejected;
                }
            }
            Change::ConsentWithdrawn { consent_id, .. } => {
                for v in self
                    .consents
                    .iter_mut()
                    .filter(|v| v.consent_id == *consent_id)
                {
                    if matches!(v.status, ConsentStatus::Pending | ConsentStatus::Active) {
                        v.status = ConsentStatus::Withdrawn;
                    }
                }
            }
            Change::ConsentExpired {
                consent_id,
                version,
            } => {
                let active = self
                    .version_mut(consent_id, *version)
                    .filter(|v| v.status == ConsentStatus::Active);
                if let Some(v) = active {
                    v.status = ConsentStatus::Expired;
                }
            }
            Change::TeamMemberAdded { membership } => {
                match self
                    .team
                    .iter()
                    .position(|m| m.membership_id == membership.membership_id)
                {
                    Some(i) => self.team[i] = membership.clone(),
                    None => self.team.push(membership.clone()),
                }
            }
            Change::TeamMemberRemoved {
                membership_id,
                effective_at,
            } => {
                if let Some(m) = self
                    .team
                    .iter_mut()
                    .find(|m| m.membership_id == *membership_id)
                {
                    m.until = Some(m.until.map_or(*effective_at, |u| u.min(*effective_at)));
                }
            }
            Change::BreakGlassOpened { grant } => {
                if !self
                    .break_glass
                    .iter()
                    .any(|g| g.grant_id == grant.grant_id)
                {
                    self.break_glass.push(grant.clone());
                }
            }
            Change::BreakGlassClosed {
                grant_id,
                effective_at,
            } => {
                if let Some(g) = self
                    .break_glass
                    .iter_mut()
                    .find(|g| g.grant_id == *grant_id)
                {
                    g.expires_at = g.expires_at.min(*effective_at);
                }
            }
            Change::MemberProfile { .. }
            | Change::MemberRolesChanged { .. }
            | Change::MemberStartedAtSite { .. }
            | Change::MemberLeftSite { .. }
            | Change::MemberDeactivated { .. }
            | Change::SiteClosed { .. } => {}
        }
    }

    /// The version `version` of consent `consent_id`, if known.
    pub fn version(&self, consent_id: &str, version: u32) -> Option<&ConsentVersion> {
        self.consents
            .iter()
            .find(|v| v.consent_id == consent_id && v.version == version)
    }

    fn version_mut(&mut self, consent_id: &ConsentId, version: u32) -> Option<&mut ConsentVersion> {
        self.consents
            .iter_mut()
            .find(|v| v.consent_id == *consent_id && v.version == version)
    }

    /// Versions of a consent before `version` that were active or still pending are
    /// superseded by it.
    fn supersede_before(&mut self, consent_id: &ConsentId, version: u32) {
        for v in self.consents.iter_mut() {
            if v.consent_id == *consent_id
                && v.version < version
                && matches!(v.status, ConsentStatus::Active | ConsentStatus::Pending)
            {
                v.status = ConsentStatus::Superseded;
            }
        }
    }
}
