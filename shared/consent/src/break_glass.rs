//! Break-glass: a clinical professional opens a patient without consent in an emergency
//! (the law's exception for protecting life and body). A reason is required, the access
//! ends by itself, and every use is flagged (see [`crate::Basis::BreakGlass`]).

use chrono::{DateTime, Duration, Utc};
use permissions::{Action, Caller};
use serde::{Deserialize, Serialize};

use crate::ids::{GrantId, MemberId};

/// How long a break-glass access lasts unless asked otherwise: 4 hours.
pub const DEFAULT_DURATION_MINUTES: i64 = 4 * 60;

/// The longest a break-glass access may be asked to last: 12 hours, one long shift. A longer
/// need is care, and care goes through consent.
pub const MAX_DURATION_MINUTES: i64 = 12 * 60;

/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// An emergency access to one patient by one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassGrant {
    /// The grant.
    pub grant_id: GrantId,
    /// Who opened it (a member of a clinical profession).
    pub member_id: MemberId,
    /// Why, in their words (required).
    pub reason: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it ends by itself (exclusive).
    pub expires_at: DateTime<Utc>,
}

/// Why a break-glass access was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BreakGlassRefused {
    /// The permission rules refuse it: only members of a clinical profession in a care
    /// role, never fire or police, never the secretariat or auditors.
    #[error("break-glass not permitted: {0}")]
    NotPermitted(permissions::DenialReason),
    /// No reason was given.
    #[error("a reason is required")]
    ReasonMissing,
    /// The reason says nothing a reviewer can read (`0`, `x`, punctuation).
    #[error("the reason must say in words why (e.g. 急変 or 救急搬送に同行)")]
    ReasonUnreadable,
    /// The reason is longer than [`MAX_REASON_CHARS`].
    #[error("the reason is longer than {MAX_REASON_CHARS} characters")]
    ReasonTooLong,
    /// The duration asked is not between one minute and [`MAX_DURATION_MINUTES`].
    #[error("a break-glass access lasts from 1 minute to {MAX_DURATION_MINUTES} minutes")]
    DurationOutOfRange,
}

/// Does the reason say something in words? A reviewer of the grant reads it: a kanji or
/// kana word of two characters says something (急変), a Latin one needs four letters
/// (`fall`); digits and punctuation alone say nothing.
pub fn readable(reason: &str) -> bool {
    let weight: usize = reason
        .chars()
        .map(|c| match c {
            c if c.is_ascii_alphabetic() => 1,
            c if c.is_alphabetic() => 2,
            _ => 0,
        })
        .sum();
    weight >= 4
}

impl BreakGlassGrant {
    /// Opens a grant for `caller` at `at`, lasting `duration` (default 4 hours). The reason is
    /// trimmed. Whether the patient is registered and still in care is for the caller to
    /// check (it holds the patient's facts).
    pub fn open(
        grant_id: GrantId,
        caller: &Caller,
        reason: &str,
        at: DateTime<Utc>,
        duration: Option<Duration>,
    ) -> Result<Self, BreakGlassRefused> {
        // The rule admits clinical professions only (`Profession::is_clinical`).
        if let permissions::Decision::Denied { reason } =
            permissions::decide(&caller.subject, Action::BreakGlass, &[])
        {
            return Err(BreakGlassRefused::NotPermitted(reason));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(BreakGlassRefused::ReasonMissing);
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(BreakGlassRefused::ReasonTooLong);
        }
        if !readable(reason) {
            return Err(BreakGlassRefused::ReasonUnreadable);
        }
        let duration = duration.unwrap_or(Duration::minutes(DEFAULT_DURATION_MINUTES));
        if duration < Duration::minutes(1) || duration > Duration::minutes(MAX_DURATION_MINUTES) {
            return Err(BreakGlassRefused::DurationOutOfRange);
        }
        Ok(Self {
            grant_id,
            member_id: MemberId::new(caller.member_id.clone()),
            reason: reason.to_owned(),
            opened_at: at,
            expires_at: at + duration,
        })
    }

    /// Is the grant open at `at`?
    pub fn live_at(&self, at: DateTime<Utc>) -> bool {
        self.opened_at <= at && at < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use permissions::{Profession, Role, Subject};

    use super::*;

    fn caller(roles: &[Role], profession: Profession) -> Caller {
        Caller {
            member_id: "m".into(),
            session_id: "s".into(),
            subject: Subject::new(roles, Some(profession)),
            sites: vec!["clinic".into()],
            municipality: Some("322032".into()),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_nurse_opens_a_four_hour_grant_with_a_reason() {
        let nurse = caller(&[Role::Professional], Profession::Nurse);
        let grant = BreakGlassGrant::open(
            "g".into(),
            &nurse,
            "  意識レベル低下、救急搬送に同行  ",
            at("2026-10-01T03:00:00Z"),
            None,
        )
        .unwrap();
        assert_eq!(grant.reason, "意識レベル低下、救急搬送に同行");
        assert_eq!(grant.expires_at, at("2026-10-01T07:00:00Z"));
        assert!(grant.live_at(at("2026-10-01T06:59:59Z")));
        assert!(!grant.live_at(at("2026-10-01T07:00:00Z")));
        assert!(!grant.live_at(at("2026-10-01T02:59:59Z")));
    }

    #[test]
    fn only_clinical_professionals_with_a_reason_break_the_glass() {
        let t = at("2026-10-01T03:00:00Z");
        for (who, refused) in [
            (
                caller(&[Role::Professional], Profession::CareManager),
                BreakGlassRefused::NotPermitted(permissions::DenialReason::ProfessionNotAllowed),
            ),
            (
                caller(&[Role::Professional], Profession::EmergencyServices),
                BreakGlassRefused::NotPermitted(
                    permissions::DenialReason::EmergencyServicesNeverSeePatientData,
                ),
            ),
            (
                caller(&[Role::Professional, Role::Auditor], Profession::Physician),
                BreakGlassRefused::NotPermitted(
                    permissions::DenialReason::RoleNeverSeesClinicalContent {
                        role: Role::Auditor,
                    },
                ),
            ),
        ] {
            assert_eq!(
                BreakGlassGrant::open("g".into(), &who, "急変", t, None),
                Err(refused)
            );
        }
        let physician = caller(&[Role::Professional], Profession::Physician);
        assert_eq!(
            BreakGlassGrant::open("g".into(), &physician, " \u{3000}", t, None),
            Err(BreakGlassRefused::ReasonMissing)
        );
        for unreadable in ["0", "x", "ab", "12345", "!!!", "急"] {
            assert_eq!(
                BreakGlassGrant::open("g".into(), &physician, unreadable, t, None),
                Err(BreakGlassRefused::ReasonUnreadable),
                "{unreadable}"
            );
        }
        for readable in ["急変", "fall", "CPA対応"] {
            assert!(BreakGlassGrant::open("g".into(), &physician, readable, t, None).is_ok());
        }
        assert_eq!(
            BreakGlassGrant::open("g".into(), &physician, "急変", t, Some(Duration::hours(13))),
            Err(BreakGlassRefused::DurationOutOfRange)
        );
        assert_eq!(
            BreakGlassGrant::open("g".into(), &physician, &"急".repeat(501), t, None),
            Err(BreakGlassRefused::ReasonTooLong)
        );
    }
}
