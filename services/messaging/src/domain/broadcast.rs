//! A broadcast, checked before it is stored; where a submission may go next; who receives a
//! published one. The coordination centre sends and reviews for its own municipality (the
//! operator for any); a submitter follows and revises their own submissions only.

use messaging_api::broadcasts::{
    BroadcastStatus, MAX_REASON_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS,
};
use permissions::{Caller, Profession, Role};

use super::board::Invalid;

/// A broadcast's words and audience, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub title: String,
    pub text: String,
    pub professions: Vec<String>,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Checks a broadcast: a title, a text, known professions (each once).
pub fn checked(title: &str, text: &str, professions: &[String]) -> Result<Content, Invalid> {
    let title = title.trim().to_owned();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(invalid(
            "/title",
            format!("a title of 1 to {MAX_TITLE_CHARS} characters"),
        ));
    }
    let text = text.trim().to_owned();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(
            "/text",
            format!("a text of 1 to {MAX_TEXT_CHARS} characters"),
        ));
    }
    let mut named: Vec<String> = Vec::new();
    for (i, p) in professions.iter().enumerate() {
        if !Profession::ALL.iter().any(|known| known.as_str() == p) {
            return Err(invalid(format!("/professions/{i}"), "no such profession"));
        }
        if !named.contains(p) {
            named.push(p.clone());
        }
    }
    Ok(Content {
        title,
        text,
        professions: named,
    })
}

/// Does the caller send and review broadcasts for this municipality?
pub fn reviews(caller: &Caller, municipality: &str) -> bool {
    caller.subject.has_role(Role::Operator)
        || (caller.subject.has_role(Role::CoordinationCentreStaff)
            && caller.municipality.as_deref() == Some(municipality))
}

/// Why a submission may not go where it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("only a submission waiting for review is published or returned")]
    NotPending,
    #[error("only a returned submission is revised")]
    NotReturned,
    #[error("{0}")]
    Invalid(Invalid),
}

/// A return's reason: some words, at most [`MAX_REASON_CHARS`].
pub fn reason(reason: Option<&str>) -> Result<String, Invalid> {
    let reason = reason.map(str::trim).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(invalid(
            "/reason",
            format!("say why it is returned, in 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason.to_owned())
}

/// The centre decides on a submission only while it waits.
pub fn may_review(status: BroadcastStatus) -> Result<(), Refused> {
    match status {
        BroadcastStatus::Pending => Ok(()),
        _ => Err(Refused::NotPending),
    }
}

/// The submitter revises only what came back.
pub fn may_revise(status: BroadcastStatus) -> Result<(), Refused> {
    match status {
        BroadcastStatus::Returned => Ok(()),
        _ => Err(Refused::NotReturned),
    }
}

/// Does the caller receive a broadcast published to `municipality` for `professions`
/// (none: everyone)?
pub fn receives(caller: &Caller, municipality: &str, professions: &[String]) -> bool {
    caller.municipality.as_deref() == Some(municipality)
        && (professions.is_empty()
            || caller
                .subject
                .profession
                .is_some_and(|p| professions.iter().any(|named| named == p.as_str())))
}

#[cfg(test)]
mod tests {
    use permissions::Subject;

    use super::*;

    fn caller(roles: &[Role], profession: Profession, municipality: &str) -> Caller {
        Caller {
            member_id: "m".into(),
            session_id: "s".into(),
            subject: Subject::new(roles.to_vec(), Some(profession)),
            sites: Vec::new(),
            municipality: Some(municipality.into()),
        }
    }

    #[test]
    fn a_broadcast_reaches_its_municipality_or_the_professions_it_names() {
        let helper = caller(
            &[Role::BroadcastRecipient],
            Profession::CareWorker,
            "322032",
        );
        assert!(receives(&helper, "322032", &[]));
        assert!(receives(&helper, "322032", &["care_worker".into()]));
        assert!(!receives(&helper, "322032", &["nurse".into()]));
        assert!(!receives(&helper, "141003", &[]));
    }

    #[test]
    fn a_submission_is_reviewed_while_it_waits_and_revised_once_returned() {
        assert!(may_review(BroadcastStatus::Pending).is_ok());
        assert_eq!(
            may_review(BroadcastStatus::Published),
            Err(Refused::NotPending)
        );
        assert!(may_revise(BroadcastStatus::Returned).is_ok());
        assert_eq!(
            may_revise(BroadcastStatus::Pending),
            Err(Refused::NotReturned)
        );
        assert_eq!(reason(Some("  ")).unwrap_err().field, "/reason");
        assert_eq!(reason(Some(" 日付が違います ")).unwrap(), "日付が違います");
        let centre = caller(
            &[Role::CoordinationCentreStaff],
            Profession::MedicalSocialWorker,
            "322032",
        );
        assert!(reviews(&centre, "322032") && !reviews(&centre, "141003"));
        assert_eq!(
            checked("題", "本文", &["wizard".into()]).unwrap_err().field,
            "/professions/0"
        );
    }
}
