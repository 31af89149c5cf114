//! Who gets through a route, and what the parameters of its path name.

use permissions::Action;

/// An HTTP method a route answers. Every [`Method::Get`] route answers `HEAD` too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method as HTTP writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// A read: it changes nothing, answers `HEAD` too, and may wait for a position.
    pub const fn is_read(self) -> bool {
        matches!(self, Self::Get)
    }
}

/// Who gets through a route's door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// No credential needed: health, the public keys, signing in and joining.
    Open,
    /// The operator's bootstrap credential, or a signed-in member whose roles allow one of
    /// these actions.
    Signed(&'static [Action]),
    /// A signed-in member only, about their own account or session.
    OwnAccount,
    /// A read of one patient's data: any signed-in caller gets through to the service,
    /// whose one access decision (the permission rules, then consent and team) refuses and
    /// records the refusal — a refusal the gateway made itself would leave no access record.
    PatientRead,
}

impl Door {
    /// Does the door ask for a credential?
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Open)
    }
}

/// What a parameter of a route's path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Object {
    /// A municipality, by its local government code. The gateway sees whether it is the
    /// caller's own.
    Municipality,
    /// A ward or daily-life area of a municipality.
    Area,
    /// A grouping of municipalities.
    MunicipalityGroup,
    /// An organisation (法人).
    Organisation,
    /// A service site (事業所). The gateway sees whether the caller works there.
    Site,
    /// A member. The gateway sees whether it is the caller.
    Member,
    /// A patient.
    Patient,
    /// A consent of the patient in the same path.
    Consent,
    /// A seat on the care team of the patient in the same path.
    TeamSeat,
    /// A family contact of the patient in the same path.
    FamilyContact,
    /// A document of the patient in the same path.
    Document,
    /// A post on the timeline of the patient in the same path.
    Post,
    /// A board (掲示板).
    Board,
    /// A post on the board in the same path.
    BoardPost,
    /// A broadcast (一斉配信).
    Broadcast,
    /// A consultation with the coordination centre (相談).
    Consultation,
    /// A file, by the SHA-256 of its content.
    File,
    /// A month (`YYYY-MM`): a period, not an object.
    Month,
}

impl Object {
    /// Can the gateway tell the caller's tie to this object from the request alone (their
    /// token names their municipality, their member id and their sites)?
    pub const fn is_placed_by_the_gateway(self) -> bool {
        matches!(self, Self::Municipality | Self::Member | Self::Site)
    }
}

/// One parameter of a route's path: its name in the path template and what it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId {
    pub name: &'static str,
    pub object: Object,
}

impl PathId {
    pub const fn new(name: &'static str, object: Object) -> Self {
        Self { name, object }
    }
}

/// Whose objects an id in a request body may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only the caller's own municipality's (the operator's: the region's); a file, only one
    /// the caller or their site holds. Any other id is answered exactly as an id nobody has,
    /// before the service acts.
    Own,
    /// Any municipality's, on purpose: the domain crosses municipalities here (a wide-area
    /// care team, a consent naming the sites the patient chose, a site serving several
    /// municipalities). Why, in words: the document and the tests read it.
    Crossing(&'static str),
    /// Checked elsewhere than by municipality, and where: a file by its holders in the
    /// file store, an area within the municipality named beside it.
    HeldBy(&'static str),
    /// Not a reference: the id of what the request creates.
    New,
}

/// One id a request body carries: where it is (a JSON pointer; `*` stands for every item of
/// an array), what it names and whose it may be. Declared on the route beside its path ids,
/// so that one mechanism in the gateway holds every body id to the caller's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyId {
    pub pointer: &'static str,
    pub object: Object,
    pub scope: Scope,
}

impl BodyId {
    /// An id that must name an object of the caller's own municipality.
    pub const fn own(pointer: &'static str, object: Object) -> Self {
        Self {
            pointer,
            object,
            scope: Scope::Own,
        }
    }

    /// An id that may name any municipality's object, and why.
    pub const fn crossing(pointer: &'static str, object: Object, why: &'static str) -> Self {
        Self {
            pointer,
            object,
            scope: Scope::Crossing(why),
        }
    }

    /// An id held to its caller by something else, said in `how`.
    pub const fn held_by(pointer: &'static str, object: Object, how: &'static str) -> Self {
        Self {
            pointer,
            object,
            scope: Scope::HeldBy(how),
        }
    }

    /// The id of what the request creates.
    pub const fn new_id(pointer: &'static str, object: Object) -> Self {
        Self {
            pointer,
            object,
            scope: Scope::New,
        }
    }

    /// Every id this declaration finds in `body`: (its concrete pointer, the id). A field
    /// absent or null holds none; a value that is not a string is the schema's to refuse.
    pub fn found_in<'a>(&self, body: &'a serde_json::Value) -> Vec<(String, &'a str)> {
        let mut out = Vec::new();
        let steps: Vec<&str> = self.pointer.split('/').skip(1).collect();
        collect(body, &steps, String::new(), &mut out);
        out
    }
}

fn collect<'a>(
    value: &'a serde_json::Value,
    steps: &[&str],
    at: String,
    out: &mut Vec<(String, &'a str)>,
) {
    let Some((step, rest)) = steps.split_first() else {
        if let Some(id) = value.as_str() {
            out.push((at, id));
        }
        return;
    };
    match (value, *step) {
        (serde_json::Value::Array(items), "*") => {
            for (i, item) in items.iter().enumerate() {
                collect(item, rest, format!("{at}/{i}"), out);
            }
        }
        (serde_json::Value::Object(fields), name) => {
            if let Some(item) = fields.get(name) {
                collect(item, rest, format!("{at}/{name}"), out);
            }
        }
        _ => {}
    }
}

impl Object {
    /// What the object is called in an answer that says no such one exists.
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Municipality => "municipality",
            Self::Area => "area",
            Self::MunicipalityGroup => "group",
            Self::Organisation => "organisation",
            Self::Site => "site",
            Self::Member => "member",
            Self::Patient => "patient",
            Self::Consent => "consent",
            Self::TeamSeat => "team seat",
            Self::FamilyContact => "family contact",
            Self::Document => "document",
            Self::Post => "post",
            Self::Board => "board",
            Self::BoardPost => "board post",
            Self::Broadcast => "broadcast",
            Self::Consultation => "consultation",
            Self::File => "file",
            Self::Month => "month",
        }
    }
}

#[cfg(test)]
mod body_id_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pointer_finds_each_id_where_it_is() {
        let body = json!({"sites": ["a", "b"], "municipality": "322032",
                          "model": {"sites": [{"site": "c"}]}, "note": null});
        let sites = BodyId::own("/sites/*", Object::Site);
        assert_eq!(
            sites.found_in(&body),
            [("/sites/0".to_owned(), "a"), ("/sites/1".to_owned(), "b")]
        );
        assert_eq!(
            BodyId::own("/municipality", Object::Municipality).found_in(&body),
            [("/municipality".to_owned(), "322032")]
        );
        assert_eq!(
            BodyId::own("/model/sites/*/site", Object::Site).found_in(&body),
            [("/model/sites/0/site".to_owned(), "c")]
        );
        assert!(
            BodyId::own("/note", Object::Site)
                .found_in(&body)
                .is_empty()
        );
        assert!(
            BodyId::own("/absent", Object::Site)
                .found_in(&body)
                .is_empty()
        );
    }
}
