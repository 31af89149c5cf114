//! The one access decision for patient data, used by every service: *may member M see
//! category C of patient P, for purpose U, at time T?* — allowed **because of** consent X
//! version N and team seat Y (or break-glass grant Z), or refused with a typed reason.
//!
//! Pure and cheap: no I/O, no clock, no global state; a decision reads one patient's
//! [`PatientAccessFacts`] and the verified [`permissions::Caller`] and allocates only the ids
//! of its answer. Each service builds the facts from its own projection of the identity
//! context's patient events ([`PatientAccessFacts::apply`]) and records every answer, allowed
//! or denied.
//!
//! # The decision ([`decide`]), in order
//!
//! 1. **The permission rules, whatever the tie** ([`permissions::decide`] with every
//!    relationship): fire and police never pass; the secretariat and auditors never reach
//!    clinical content; a role or profession no rule names is refused. Nothing about the
//!    patient has been read yet, so this refusal leaks nothing.
//! 2. **The purpose fits what is asked** ([`Reach::fits`]): clinical content for care or an
//!    emergency, registration data for care, emergencies or administration, the access record
//!    for audits.
//! 3. **The facts are this patient's and current**: when the patient's subject has moved past
//!    the sequence the facts folded, the request is refused ([`DenialReason::FactsBehind`]),
//!    so a withdrawal refuses the very next request of anyone.
//! 4. **The access record** ([`Reach::AccessRecord`]) is the auditors', always.
//! 5. **A registered patient still in care**: after the end of care the team, the
//!    registering site and break-glass open nothing; the registration stays in its
//!    municipality's registry, read by that secretariat alone (and auditors keep the access
//!    record).
//! 6. **The ties and the rules with them**: on the team (a seat held now, as its named
//!    member or working at its site — the member's sites are [`permissions::Caller::sites`]),
//!    at the registering site, the secretariat of the home municipality, a live break-glass
//!    grant.
//! 7. **Registration data** (registered, consent status, team composition) needs no consent:
//!    allowed by the tie ([`Basis::Registration`]).
//! 8. **Clinical content through the team needs consent**: a seat whose site an *active*
//!    consent version covers (the site not excluded under 一括同意, listed, or the one site of
//!    a site-by-site consent), for the categories asked, `at` within its dates. A pending
//!    consent opens nothing; a withdrawn one closes at once. Reads may be allowed fewer
//!    categories than asked; writes all or nothing. The answer names the consent, its
//!    version and the seat ([`Basis::Consent`]).
//! 9. **Break-glass**: a clinical professional with a live grant, asking for an emergency, is
//!    allowed without consent ([`Basis::BreakGlass`]); the caller must flag it
//!    ([`AccessDecision::is_break_glass`]).
//!
//! # Time travel ([`history`])
//!
//! From a patient's history of recorded changes, who could see them at a past moment, in
//! two readings: [`Reading::InForceAsKnownToday`] and [`Reading::AsKnownThen`].
//!
//! # Dates and instants
//!
//! Consent validity is written in dates (Japan time, inclusive); requests, seats, grants and
//! withdrawals in instants. See [`time`].

/// Defines a closed list: the enum, its `ALL` slice, its wire name (`as_str`, the same text
/// serde reads and writes) and `Display`.
macro_rules! closed_list {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire name (snake_case), as serde writes it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod break_glass;
mod decision;
mod facts;
pub mod history;
mod ids;
mod team;
mod terms;
pub mod time;

#[cfg(test)]
mod decision_table;

pub use break_glass::{
    BreakGlassGrant, BreakGlassRefused, DEFAULT_DURATION_MINUTES, MAX_DURATION_MINUTES,
    MAX_REASON_CHARS,
};
pub use decision::{
    AccessDecision, AccessRequest, Basis, ConsentCover, DenialReason, Reach, consent_covering,
    decide,
};
pub use facts::{Change, PatientAccessFacts};
pub use history::{PatientHistory, Reading, Recorded, WhoCouldSee};
pub use ids::{ConsentId, GrantId, MemberId, MembershipId, PatientId, SiteId};
pub use team::{TeamMembership, TeamPart};
pub use terms::{
    CategorySet, ConsentForm, ConsentModel, ConsentStatus, ConsentTerms, ConsentVersion,
    DataCategory, FamilyRelationship, GivenBy, MAX_SITES_NAMED, ObtainedBy, Purpose, SiteCoverage,
    TermsProblem,
};
