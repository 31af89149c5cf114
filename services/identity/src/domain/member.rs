//! A member of the platform: invited, activated, enrolled, given other roles over time,
//! and one day deactivated.
//! Sign-in facts live on a separate aggregate (`member_session`) so that loading a
//! member never replays every sign-in.

use chrono::{DateTime, Utc};
use identity_api::events::IdentityEvent;
use identity_api::members::MemberStatus;
use permissions::{Profession, Role};

use super::{Invalid, normalised_kana, normalised_name};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub member_id: String,
    pub profession: Profession,
    pub roles: Vec<Role>,
    pub sites: Vec<String>,
    pub municipality: String,
    pub status: MemberStatus,
    /// Invited members are verified by whoever invited them; those who joined through a
    /// link wait for the coordination centre.
    pub verified: bool,
}

/// What is asked of a member. Facts looked up elsewhere (do the sites exist, is the
/// municipality registered) come in the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberCommand {
    Invite {
        member_id: String,
        name: String,
        name_kana: String,
        profession: Profession,
        roles: Vec<Role>,
        sites: Vec<String>,
        unknown_sites: Vec<String>,
        municipality: String,
        municipality_registered: bool,
        expires_at: DateTime<Utc>,
    },
    SelfRegister {
        member_id: String,
        name: String,
        name_kana: String,
        profession: Profession,
        municipality: String,
    },
    Activate,
    ConfirmSecondFactor,
    Verify,
    Deactivate {
        reason: String,
    },
    /// Replace the member's roles with this set (who may grant which role is the handler's
    /// question: it depends on the caller, not on the member).
    ChangeRoles {
        roles: Vec<Role>,
        reason: String,
    },
    ResetCredentials {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("the member already exists")]
    AlreadyInvited,
    #[error("no such member")]
    NotFound,
    #[error("the account is not waiting for this step")]
    WrongStep,
    #[error("the member has left")]
    Deactivated,
}

/// Roles that work without a site: they act for the region or a municipality.
fn needs_no_site(role: Role) -> bool {
    matches!(
        role,
        Role::Operator | Role::MunicipalSecretariat | Role::Auditor | Role::Integrator
    )
}

/// The rules every set of roles keeps, at invitation as at a change: at least one role,
/// sorted without duplicates, and no integrator.
fn role_set(mut roles: Vec<Role>) -> Result<Vec<Role>, Invalid> {
    if roles.is_empty() {
        return Err(Invalid::new("/roles", "a member holds at least one role"));
    }
    roles.sort();
    roles.dedup();
    if roles.contains(&Role::Integrator) {
        return Err(Invalid::new(
            "/roles",
            "integrators are machine clients, not invited members",
        ));
    }
    Ok(roles)
}

fn checked_reason(reason: &str) -> Result<String, Invalid> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Invalid::new(
            "/reason",
            "give a reason of 1 to 500 characters",
        ));
    }
    Ok(reason.to_owned())
}

/// Decides what a command records: one event, or none when the member already is as
/// asked (a role change to the roles they hold).
pub fn decide(
    state: Option<&Member>,
    command: MemberCommand,
) -> Result<Option<IdentityEvent>, MemberError> {
    use MemberCommand as C;
    match (state, command) {
        (Some(_), C::Invite { .. }) => Err(MemberError::AlreadyInvited),
        (
            None,
            C::Invite {
                member_id,
                name,
                name_kana,
                profession,
                roles,
                sites,
                unknown_sites,
                municipality,
                municipality_registered,
                expires_at,
            },
        ) => {
            let name = normalised_name("/name", &name)?;
            let name_kana = normalised_kana("/name_kana", &name_kana)?;
            let roles = role_set(roles)?;
            if sites.is_empty() && !roles.iter().all(|r| needs_no_site(*r)) {
                return Err(Invalid::new(
                    "/sites",
                    "a member with this role works at one site or more",
                )
                .into());
            }
            if let Some(i) = sites.iter().position(|s| unknown_sites.contains(s)) {
                return Err(Invalid::new(format!("/sites/{i}"), "no open site has this id").into());
            }
            if !municipality_registered {
                return Err(Invalid::new(
                    "/municipality",
                    "no municipality is registered under this code",
                )
                .into());
            }
            let mut sites = sites;
            sites.sort();
            sites.dedup();
            Ok(Some(IdentityEvent::MemberInvited {
                member_id,
                name,
                name_kana,
                profession,
                roles,
                sites,
                municipality,
                expires_at,
            }))
        }
        (
            None,
            C::SelfRegister {
                member_id,
                name,
                name_kana,
                profession,
                municipality,
            },
        ) => Ok(Some(IdentityEvent::MemberSelfRegistered {
            member_id,
            name: normalised_name("/name", &name)?,
            name_kana: normalised_kana("/name_kana", &name_kana)?,
            profession,
            municipality,
        })),
        (Some(_), C::SelfRegister { .. }) => Err(MemberError::AlreadyInvited),
        (None, _) => Err(MemberError::NotFound),
        (Some(m), C::Verify) if !m.verified => Ok(Some(IdentityEvent::MemberVerified {
            member_id: m.member_id.clone(),
        })),
        (Some(m), _) if m.status == MemberStatus::Deactivated => Err(MemberError::Deactivated),
        (Some(m), C::Activate) if m.status == MemberStatus::Invited => {
            Ok(Some(IdentityEvent::MemberActivated {
                member_id: m.member_id.clone(),
            }))
        }
        (Some(m), C::ConfirmSecondFactor) if m.status == MemberStatus::Activating => {
            Ok(Some(IdentityEvent::SecondFactorEnrolled {
                member_id: m.member_id.clone(),
            }))
        }
        (Some(m), C::Deactivate { reason }) => Ok(Some(IdentityEvent::MemberDeactivated {
            member_id: m.member_id.clone(),
            reason: checked_reason(&reason)?,
        })),
        (Some(m), C::ChangeRoles { roles, reason }) => {
            let roles = role_set(roles)?;
            if m.sites.is_empty() && !roles.iter().all(|r| needs_no_site(*r)) {
                return Err(Invalid::new(
                    "/roles",
                    "this role works at a site, and the member works at none",
                )
                .into());
            }
            let reason = checked_reason(&reason)?;
            if roles == m.roles {
                return Ok(None);
            }
            Ok(Some(IdentityEvent::MemberRolesChanged {
                member_id: m.member_id.clone(),
                roles,
                previous_roles: m.roles.clone(),
                reason,
            }))
        }
        (Some(m), C::ResetCredentials { reason }) => Ok(Some(IdentityEvent::CredentialsReset {
            member_id: m.member_id.clone(),
            reason: checked_reason(&reason)?,
        })),
        (Some(_), _) => Err(MemberError::WrongStep),
    }
}

pub fn evolve(state: Option<Member>, event: &IdentityEvent) -> Option<Member> {
    use IdentityEvent as E;
    match (state, event) {
        (
            None,
            E::MemberInvited {
                member_id,
                profession,
                roles,
                sites,
                municipality,
                ..
            },
        ) => Some(Member {
            member_id: member_id.clone(),
            profession: *profession,
            roles: roles.clone(),
            sites: sites.clone(),
            municipality: municipality.clone(),
            status: MemberStatus::Invited,
            verified: true,
        }),
        (
            None,
            E::MemberSelfRegistered {
                member_id,
                profession,
                municipality,
                ..
            },
        ) => Some(Member {
            member_id: member_id.clone(),
            profession: *profession,
            roles: vec![Role::BroadcastRecipient],
            sites: Vec::new(),
            municipality: municipality.clone(),
            status: MemberStatus::Activating,
            verified: false,
        }),
        (Some(mut m), E::MemberVerified { .. }) => {
            m.verified = true;
            if m.status == MemberStatus::AwaitingVerification {
                m.status = MemberStatus::Active;
            }
            Some(m)
        }
        (Some(mut m), E::MemberActivated { .. }) => {
            m.status = MemberStatus::Activating;
            Some(m)
        }
        (Some(mut m), E::SecondFactorEnrolled { .. }) => {
            m.status = if m.verified {
                MemberStatus::Active
            } else {
                MemberStatus::AwaitingVerification
            };
            Some(m)
        }
        (Some(mut m), E::CredentialsReset { .. }) => {
            m.status = MemberStatus::Invited;
            Some(m)
        }
        (Some(mut m), E::MemberRolesChanged { roles, .. }) => {
            m.roles = roles.clone();
            Some(m)
        }
        (Some(mut m), E::MemberDeactivated { .. }) => {
            m.status = MemberStatus::Deactivated;
            Some(m)
        }
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(roles: Vec<Role>, sites: Vec<&str>, unknown: Vec<&str>) -> MemberCommand {
        MemberCommand::Invite {
            member_id: "m1".into(),
            name: "看護 花子".into(),
            name_kana: "かんご はなこ".into(),
            profession: Profession::Nurse,
            roles,
            sites: sites.into_iter().map(String::from).collect(),
            unknown_sites: unknown.into_iter().map(String::from).collect(),
            municipality: "322032".into(),
            municipality_registered: true,
            expires_at: DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    fn given(events: &[IdentityEvent]) -> Option<Member> {
        events.iter().fold(None, evolve)
    }

    #[test]
    fn an_invited_nurse_activates_enrols_and_becomes_active() {
        let invited = decide(None, invite(vec![Role::Professional], vec!["s1"], vec![]))
            .unwrap()
            .unwrap();
        let m = given(std::slice::from_ref(&invited));
        assert_eq!(m.as_ref().unwrap().status, MemberStatus::Invited);
        let activated = decide(m.as_ref(), MemberCommand::Activate)
            .unwrap()
            .unwrap();
        let m = given(&[invited.clone(), activated.clone()]);
        assert_eq!(
            decide(m.as_ref(), MemberCommand::Activate),
            Err(MemberError::WrongStep)
        );
        let enrolled = decide(m.as_ref(), MemberCommand::ConfirmSecondFactor)
            .unwrap()
            .unwrap();
        assert_eq!(
            given(&[invited, activated, enrolled]).unwrap().status,
            MemberStatus::Active
        );
    }

    #[test]
    fn a_professional_needs_a_known_site() {
        let err = decide(None, invite(vec![Role::Professional], vec![], vec![])).unwrap_err();
        assert!(
            matches!(err, MemberError::Invalid(Invalid { ref field, .. }) if field == "/sites")
        );
        let err = decide(
            None,
            invite(vec![Role::Professional], vec!["s1", "s2"], vec!["s2"]),
        )
        .unwrap_err();
        assert!(
            matches!(err, MemberError::Invalid(Invalid { ref field, .. }) if field == "/sites/1")
        );
        assert!(
            decide(
                None,
                invite(vec![Role::MunicipalSecretariat], vec![], vec![])
            )
            .is_ok()
        );
    }

    #[test]
    fn a_member_who_joined_through_a_link_is_active_only_once_verified() {
        let joined = decide(
            None,
            MemberCommand::SelfRegister {
                member_id: "m2".into(),
                name: "介護 次郎".into(),
                name_kana: "カイゴ ジロウ".into(),
                profession: Profession::CareWorker,
                municipality: "322032".into(),
            },
        )
        .unwrap()
        .unwrap();
        let m = given(std::slice::from_ref(&joined));
        assert_eq!(m.as_ref().unwrap().roles, vec![Role::BroadcastRecipient]);
        let enrolled = decide(m.as_ref(), MemberCommand::ConfirmSecondFactor)
            .unwrap()
            .unwrap();
        let m = given(&[joined.clone(), enrolled.clone()]);
        assert_eq!(
            m.as_ref().unwrap().status,
            MemberStatus::AwaitingVerification
        );
        let verified = decide(m.as_ref(), MemberCommand::Verify).unwrap().unwrap();
        let m = given(&[joined, enrolled, verified]);
        assert_eq!(m.as_ref().unwrap().status, MemberStatus::Active);
        assert_eq!(
            decide(m.as_ref(), MemberCommand::Verify),
            Err(MemberError::WrongStep)
        );
    }

    #[test]
    fn a_member_who_left_can_do_nothing_more() {
        let invited = decide(None, invite(vec![Role::Professional], vec!["s1"], vec![]))
            .unwrap()
            .unwrap();
        let left = decide(
            given(std::slice::from_ref(&invited)).as_ref(),
            MemberCommand::Deactivate {
                reason: "moved away".into(),
            },
        )
        .unwrap()
        .unwrap();
        let m = given(&[invited, left]);
        assert_eq!(
            decide(m.as_ref(), MemberCommand::Activate),
            Err(MemberError::Deactivated)
        );
        assert_eq!(
            decide(m.as_ref(), change_roles(vec![Role::SiteAdmin])),
            Err(MemberError::Deactivated)
        );
    }

    fn change_roles(roles: Vec<Role>) -> MemberCommand {
        MemberCommand::ChangeRoles {
            roles,
            reason: "runs the station now".into(),
        }
    }

    fn invited(roles: Vec<Role>, sites: Vec<&str>) -> IdentityEvent {
        decide(None, invite(roles, sites, vec![])).unwrap().unwrap()
    }

    fn field_of(err: MemberError) -> String {
        match err {
            MemberError::Invalid(Invalid { field, .. }) => field,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn a_nurse_promoted_to_site_admin_holds_both_roles_and_the_event_says_what_she_held() {
        let m = given(&[invited(vec![Role::Professional], vec!["s1"])]);
        let changed = decide(
            m.as_ref(),
            change_roles(vec![Role::SiteAdmin, Role::Professional, Role::SiteAdmin]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            changed,
            IdentityEvent::MemberRolesChanged {
                member_id: "m1".into(),
                roles: vec![Role::SiteAdmin, Role::Professional],
                previous_roles: vec![Role::Professional],
                reason: "runs the station now".into(),
            }
        );
        let m = given(&[invited(vec![Role::Professional], vec!["s1"]), changed]);
        assert_eq!(m.unwrap().roles, vec![Role::SiteAdmin, Role::Professional]);
    }

    #[test]
    fn asking_for_the_roles_a_member_already_holds_records_nothing() {
        let m = given(&[invited(
            vec![Role::SiteAdmin, Role::Professional],
            vec!["s1"],
        )]);
        assert_eq!(
            decide(
                m.as_ref(),
                change_roles(vec![
                    Role::Professional,
                    Role::SiteAdmin,
                    Role::Professional
                ])
            ),
            Ok(None)
        );
    }

    #[test]
    fn a_member_keeps_at_least_one_role_and_never_becomes_an_integrator() {
        let m = given(&[invited(vec![Role::Professional], vec!["s1"])]);
        let err = decide(m.as_ref(), change_roles(vec![])).unwrap_err();
        assert_eq!(field_of(err), "/roles");
        let err = decide(
            m.as_ref(),
            change_roles(vec![Role::Professional, Role::Integrator]),
        )
        .unwrap_err();
        assert_eq!(field_of(err), "/roles");
    }

    #[test]
    fn a_member_without_a_site_gets_only_roles_that_need_none() {
        let m = given(&[invited(vec![Role::MunicipalSecretariat], vec![])]);
        let err = decide(m.as_ref(), change_roles(vec![Role::Professional])).unwrap_err();
        assert_eq!(field_of(err), "/roles");
        assert!(matches!(
            decide(m.as_ref(), change_roles(vec![Role::Auditor])),
            Ok(Some(IdentityEvent::MemberRolesChanged { .. }))
        ));
    }

    #[test]
    fn a_role_change_needs_a_reason() {
        let m = given(&[invited(vec![Role::Professional], vec!["s1"])]);
        let err = decide(
            m.as_ref(),
            MemberCommand::ChangeRoles {
                roles: vec![Role::SiteAdmin],
                reason: "  ".into(),
            },
        )
        .unwrap_err();
        assert_eq!(field_of(err), "/reason");
    }

    #[test]
    fn the_roles_of_nobody_cannot_change() {
        assert_eq!(
            decide(None, change_roles(vec![Role::SiteAdmin])),
            Err(MemberError::NotFound)
        );
    }
}
