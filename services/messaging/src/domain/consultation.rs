//! A consultation, checked before it is stored, and who takes part: its asker, and the
//! coordination centre of its municipality (the operator for any).

use messaging_api::consultations::{MAX_SUBJECT_CHARS, MAX_TEXT_CHARS};
use permissions::{Caller, Role};

use super::board::Invalid;

fn invalid(field: &str, reason: String) -> Invalid {
    Invalid {
        field: field.to_owned(),
        reason,
    }
}

/// A subject: 1 to [`MAX_SUBJECT_CHARS`] characters.
pub fn subject(subject: &str) -> Result<String, Invalid> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(invalid(
            "/subject",
            format!("a subject of 1 to {MAX_SUBJECT_CHARS} characters"),
        ));
    }
    Ok(subject.to_owned())
}

/// A message: 1 to [`MAX_TEXT_CHARS`] characters.
pub fn text(text: &str) -> Result<String, Invalid> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(
            "/text",
            format!("write 1 to {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// Does the caller answer for the coordination centre of this municipality?
pub fn for_centre(caller: &Caller, municipality: &str) -> bool {
    caller.subject.has_role(Role::Operator)
        || (caller.subject.has_role(Role::CoordinationCentreStaff)
            && caller.municipality.as_deref() == Some(municipality))
}

/// Does the caller take part: the asker, or the centre?
pub fn takes_part(caller: &Caller, municipality: &str, asker: &str) -> bool {
    caller.member_id == asker || for_centre(caller, municipality)
}

#[cfg(test)]
mod tests {
    use permissions::{Profession, Subject};

    use super::*;

    fn caller(id: &str, role: Role, municipality: &str) -> Caller {
        Caller {
            member_id: id.into(),
            session_id: "s".into(),
            subject: Subject::new(vec![role], Some(Profession::Nurse)),
            sites: Vec::new(),
            municipality: Some(municipality.into()),
        }
    }

    #[test]
    fn the_asker_and_the_centre_of_its_municipality_take_part_and_nobody_else() {
        let asker = caller("a", Role::Professional, "322032");
        let colleague = caller("b", Role::Professional, "322032");
        let centre = caller("c", Role::CoordinationCentreStaff, "322032");
        let other_centre = caller("d", Role::CoordinationCentreStaff, "141003");
        assert!(takes_part(&asker, "322032", "a"));
        assert!(!takes_part(&colleague, "322032", "a"));
        assert!(takes_part(&centre, "322032", "a"));
        assert!(!takes_part(&other_centre, "322032", "a"));
        assert_eq!(subject(" ").unwrap_err().field, "/subject");
        assert_eq!(
            text(&"あ".repeat(MAX_TEXT_CHARS + 1)).unwrap_err().field,
            "/text"
        );
    }
}
