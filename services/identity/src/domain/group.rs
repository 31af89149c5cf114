//! A group of municipalities: a wide-area union, a coordination centre's coverage.

use std::collections::BTreeSet;

use identity_api::events::IdentityEvent;
use identity_api::municipalities::GroupKind;

use super::municipality::parse_code;
use super::{Invalid, normalised_kana, normalised_name, slug};

/// More than Japan has municipalities (about 1,700), so no real group is refused.
pub const MAX_MEMBERS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub group_id: String,
    pub members: BTreeSet<String>,
}

/// What the operator asks of a group. Which municipalities exist is looked up by the
/// handler and passed in, so the decision stays pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupCommand {
    Form {
        group_id: String,
        kind: GroupKind,
        name: String,
        name_kana: String,
        members: Vec<String>,
        unregistered: Vec<String>,
    },
    Join {
        code: String,
        registered: bool,
    },
    Leave {
        code: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("group {0} already exists")]
    AlreadyFormed(String),
    #[error("no such group")]
    NotFormed,
    #[error("municipality {0} is already in the group")]
    AlreadyMember(String),
    #[error("municipality {0} is not in the group")]
    NotMember(String),
}

pub fn decide(state: Option<&Group>, command: GroupCommand) -> Result<IdentityEvent, GroupError> {
    use GroupCommand as C;
    match (state, command) {
        (Some(g), C::Form { .. }) => Err(GroupError::AlreadyFormed(g.group_id.clone())),
        (
            None,
            C::Form {
                group_id,
                kind,
                name,
                name_kana,
                members,
                unregistered,
            },
        ) => {
            let group_id = slug("/group_id", &group_id)?;
            let name = normalised_name("/name", &name)?;
            let name_kana = normalised_kana("/name_kana", &name_kana)?;
            if members.is_empty() {
                return Err(
                    Invalid::new("/members", "a group needs at least one municipality").into(),
                );
            }
            if members.len() > MAX_MEMBERS {
                let reason = format!("a group holds at most {MAX_MEMBERS} municipalities");
                return Err(Invalid::new("/members", reason).into());
            }
            let mut seen = BTreeSet::new();
            let mut codes = Vec::with_capacity(members.len());
            for (i, m) in members.iter().enumerate() {
                let field = format!("/members/{i}");
                let code = parse_code(&field, m)?;
                if unregistered.iter().any(|u| u == m) {
                    return Err(Invalid::new(
                        field,
                        "no municipality is registered under this code",
                    )
                    .into());
                }
                if !seen.insert(code.as_str().to_owned()) {
                    return Err(Invalid::new(field, "listed twice").into());
                }
                codes.push(code.as_str().to_owned());
            }
            Ok(IdentityEvent::MunicipalityGroupFormed {
                group_id,
                kind,
                name,
                name_kana,
                members: codes,
            })
        }
        (None, _) => Err(GroupError::NotFormed),
        (Some(g), C::Join { code, registered }) => {
            let code = parse_code("/code", &code)?;
            if !registered {
                return Err(
                    Invalid::new("/code", "no municipality is registered under this code").into(),
                );
            }
            if g.members.contains(code.as_str()) {
                return Err(GroupError::AlreadyMember(code.as_str().to_owned()));
            }
            Ok(IdentityEvent::MunicipalityJoinedGroup {
                group_id: g.group_id.clone(),
                code: code.as_str().to_owned(),
            })
        }
        (Some(g), C::Leave { code }) => {
            if !g.members.contains(&code) {
                return Err(GroupError::NotMember(code));
            }
            Ok(IdentityEvent::MunicipalityLeftGroup {
                group_id: g.group_id.clone(),
                code,
            })
        }
    }
}

pub fn evolve(state: Option<Group>, event: &IdentityEvent) -> Option<Group> {
    use IdentityEvent as E;
    match (state, event) {
        (
            None,
            E::MunicipalityGroupFormed {
                group_id, members, ..
            },
        ) => Some(Group {
            group_id: group_id.clone(),
            members: members.iter().cloned().collect(),
        }),
        (Some(mut g), E::MunicipalityJoinedGroup { code, .. }) => {
            g.members.insert(code.clone());
            Some(g)
        }
        (Some(mut g), E::MunicipalityLeftGroup { code, .. }) => {
            g.members.remove(code);
            Some(g)
        }
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(members: &[&str], unregistered: &[&str]) -> GroupCommand {
        GroupCommand::Form {
            group_id: "minami".into(),
            kind: GroupKind::WideAreaUnion,
            name: "南部".into(),
            name_kana: "ナンブ".into(),
            members: members.iter().map(|s| s.to_string()).collect(),
            unregistered: unregistered.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_group_of_registered_municipalities_is_formed() {
        let ev = decide(None, form(&["472107", "472123"], &[])).unwrap();
        let g = evolve(None, &ev).unwrap();
        assert_eq!(g.members.len(), 2);
    }

    #[test]
    fn an_unregistered_member_is_named_by_its_position() {
        let err = decide(None, form(&["472107", "472123"], &["472123"])).unwrap_err();
        assert!(
            matches!(err, GroupError::Invalid(Invalid { ref field, .. }) if field == "/members/1")
        );
    }

    #[test]
    fn a_group_larger_than_any_real_one_is_refused() {
        let codes: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("{i:05}")).collect();
        let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        let err = decide(None, form(&refs, &[])).unwrap_err();
        assert!(
            matches!(err, GroupError::Invalid(Invalid { ref field, .. }) if field == "/members")
        );
    }

    #[test]
    fn a_member_listed_twice_is_refused() {
        let err = decide(None, form(&["472107", "472107"], &[])).unwrap_err();
        assert!(
            matches!(err, GroupError::Invalid(Invalid { ref field, .. }) if field == "/members/1")
        );
    }

    #[test]
    fn joining_twice_and_leaving_a_group_one_is_not_in_are_refused() {
        let g = evolve(None, &decide(None, form(&["472107"], &[])).unwrap());
        let join = GroupCommand::Join {
            code: "472107".into(),
            registered: true,
        };
        assert_eq!(
            decide(g.as_ref(), join).unwrap_err(),
            GroupError::AlreadyMember("472107".into())
        );
        let leave = GroupCommand::Leave {
            code: "472123".into(),
        };
        assert_eq!(
            decide(g.as_ref(), leave).unwrap_err(),
            GroupError::NotMember("472123".into())
        );
    }
}
