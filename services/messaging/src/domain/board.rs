//! A board and its posts, checked before anything is stored, and who reads a board: its
//! municipality's people (or the region's) for everyone, or the professions and sites it
//! names. Fire and police read only a board that names them; a board's managers read it
//! whatever its audience.

use messaging_api::boards::{
    BoardPostKind, MAX_AUDIENCE, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_TEXT_CHARS, NewBoard,
    NewBoardPost,
};
use permissions::{Caller, Profession, Role};

/// A board or post that is not one, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A board as it will be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    pub name: String,
    pub description: Option<String>,
    pub municipality: Option<String>,
    pub audience: Audience,
}

/// Who a board is for: nobody named means everyone (fire and police only when said).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub professions: Vec<String>,
    pub sites: Vec<String>,
    /// Everyone, fire and police included.
    pub fire_and_police: bool,
}

impl Audience {
    pub fn is_everyone(&self) -> bool {
        self.professions.is_empty() && self.sites.is_empty()
    }
}

/// Checks a board: a name, a known profession for each named, each site once.
pub fn checked(board: NewBoard) -> Result<Board, Invalid> {
    let name = board.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            "/name",
            format!("a name of 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    let description = board
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(invalid(
            "/description",
            format!("at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    if board.professions.len() > MAX_AUDIENCE {
        return Err(invalid(
            "/professions",
            format!("name at most {MAX_AUDIENCE} professions"),
        ));
    }
    if board.sites.len() > MAX_AUDIENCE {
        return Err(invalid(
            "/sites",
            format!("name at most {MAX_AUDIENCE} sites"),
        ));
    }
    let mut professions: Vec<String> = Vec::new();
    for (i, p) in board.professions.iter().enumerate() {
        if !Profession::ALL.iter().any(|known| known.as_str() == p) {
            return Err(invalid(format!("/professions/{i}"), "no such profession"));
        }
        if !professions.contains(p) {
            professions.push(p.clone());
        }
    }
    if board.fire_and_police && !(board.professions.is_empty() && board.sites.is_empty()) {
        return Err(invalid(
            "/fire_and_police",
            "a board for everyone may include fire and police; to name professions, name them too",
        ));
    }
    let mut sites: Vec<String> = Vec::new();
    for (i, s) in board.sites.iter().enumerate() {
        let Ok(id) = uuid::Uuid::try_parse(s) else {
            return Err(invalid(format!("/sites/{i}"), "a site id (a UUID)"));
        };
        let id = id.to_string();
        if !sites.contains(&id) {
            sites.push(id);
        }
    }
    Ok(Board {
        name,
        description,
        municipality: board.municipality,
        audience: Audience {
            professions,
            sites,
            fire_and_police: board.fire_and_police,
        },
    })
}

/// A board post as it will be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub text: String,
    pub kind: BoardPostKind,
    pub reply_to: Option<String>,
}

/// Checks a board post: some text, at most [`MAX_TEXT_CHARS`]; an announcement unless said.
pub fn post(post: NewBoardPost) -> Result<Post, Invalid> {
    let text = post.text.trim().to_owned();
    if text.is_empty() {
        return Err(invalid("/text", "write something to post"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(
            "/text",
            format!("at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    let reply_to = match post.reply_to.as_deref().map(uuid::Uuid::try_parse) {
        None => None,
        Some(Ok(id)) => Some(id.to_string()),
        Some(Err(_)) => {
            return Err(invalid(
                "/reply_to",
                "the id of the post you answer (a UUID)",
            ));
        }
    };
    Ok(Post {
        text,
        kind: post.kind.unwrap_or_default(),
        reply_to,
    })
}

/// Where a board stands: its municipality (none: the region) and its audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed<'a> {
    pub municipality: Option<&'a str>,
    pub audience: &'a Audience,
}

/// Does the caller manage the board (open it, pin its posts)? The operator any; the
/// secretariat and the coordination centre their own municipality's.
pub fn manages(caller: &Caller, municipality: Option<&str>) -> bool {
    let subject = &caller.subject;
    if subject.has_role(Role::Operator) {
        return true;
    }
    let staff = subject.has_role(Role::MunicipalSecretariat)
        || subject.has_role(Role::CoordinationCentreStaff);
    staff && municipality.is_some() && caller.municipality.as_deref() == municipality
}

/// May the caller read (and post to) the board?
pub fn reads(caller: &Caller, board: &Placed<'_>) -> bool {
    if manages(caller, board.municipality) {
        return true;
    }
    if let Some(m) = board.municipality
        && caller.municipality.as_deref() != Some(m)
    {
        return false;
    }
    let profession = caller.subject.profession;
    if board.audience.is_everyone() {
        // Fire and police are of the region too, but read only what is meant for them.
        return board.audience.fire_and_police
            || !matches!(
                profession,
                Some(Profession::EmergencyServices | Profession::Police)
            );
    }
    profession.is_some_and(|p| board.audience.professions.iter().any(|a| a == p.as_str()))
        || caller
            .sites
            .iter()
            .any(|s| board.audience.sites.contains(s))
}

#[cfg(test)]
mod tests {
    use permissions::Subject;

    use super::*;

    fn caller(roles: &[Role], profession: Option<Profession>, municipality: &str) -> Caller {
        Caller {
            member_id: "m".into(),
            session_id: "s".into(),
            subject: Subject::new(roles.to_vec(), profession),
            sites: vec!["site-a".into()],
            municipality: Some(municipality.into()),
        }
    }

    #[test]
    fn a_board_for_everyone_is_read_in_its_municipality_fire_and_police_aside() {
        let everyone = Audience::default();
        let board = Placed {
            municipality: Some("322032"),
            audience: &everyone,
        };
        let nurse = caller(&[Role::Professional], Some(Profession::Nurse), "322032");
        let fire = caller(
            &[Role::Professional],
            Some(Profession::EmergencyServices),
            "322032",
        );
        let elsewhere = caller(&[Role::Professional], Some(Profession::Nurse), "141003");
        assert!(reads(&nurse, &board));
        assert!(!reads(&fire, &board));
        assert!(!reads(&elsewhere, &board));
        let region = Placed {
            municipality: None,
            audience: &everyone,
        };
        assert!(reads(&elsewhere, &region));
        let emergencies = Audience {
            fire_and_police: true,
            ..Audience::default()
        };
        let board = Placed {
            municipality: Some("322032"),
            audience: &emergencies,
        };
        assert!(reads(&fire, &board) && reads(&nurse, &board));
    }

    #[test]
    fn a_board_for_some_is_read_by_them_and_its_managers_only() {
        let nurses_and_fire = Audience {
            professions: vec!["nurse".into(), "emergency_services".into()],
            sites: Vec::new(),
            fire_and_police: false,
        };
        let board = Placed {
            municipality: Some("322032"),
            audience: &nurses_and_fire,
        };
        let pharmacist = caller(
            &[Role::Professional],
            Some(Profession::Pharmacist),
            "322032",
        );
        let fire = caller(
            &[Role::Professional],
            Some(Profession::EmergencyServices),
            "322032",
        );
        let secretariat = caller(&[Role::MunicipalSecretariat], None, "322032");
        let other_secretariat = caller(&[Role::MunicipalSecretariat], None, "141003");
        assert!(!reads(&pharmacist, &board));
        assert!(reads(&fire, &board));
        assert!(reads(&secretariat, &board));
        assert!(!reads(&other_secretariat, &board));
        let one_site = Audience {
            professions: Vec::new(),
            sites: vec!["site-a".into()],
            fire_and_police: false,
        };
        let board = Placed {
            municipality: Some("322032"),
            audience: &one_site,
        };
        assert!(reads(&pharmacist, &board), "works at the site named");
    }

    #[test]
    fn a_board_needs_a_name_and_known_professions_and_a_post_some_text() {
        let board = |name: &str, professions: &[&str]| NewBoard {
            name: name.into(),
            description: None,
            municipality: Some("322032".into()),
            professions: professions.iter().map(|p| (*p).to_owned()).collect(),
            sites: Vec::new(),
            fire_and_police: false,
        };
        assert_eq!(checked(board(" ", &[])).unwrap_err().field, "/name");
        assert_eq!(
            checked(board("看護師向け", &["nurse", "wizard"]))
                .unwrap_err()
                .field,
            "/professions/1"
        );
        let ok = checked(board(" 看護師向け ", &["nurse", "nurse"])).unwrap();
        assert_eq!(ok.name, "看護師向け");
        assert_eq!(ok.audience.professions, vec!["nurse".to_owned()]);
        let empty = NewBoardPost {
            text: "  ".into(),
            kind: None,
            reply_to: None,
        };
        assert_eq!(post(empty).unwrap_err().field, "/text");
    }
}
