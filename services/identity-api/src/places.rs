//! Where the objects a request names belong. The gateway asks before it forwards a body
//! that carries ids (declared on the route as `doors::BodyId`s): the register of sites,
//! organisations and members and the patients' registrations are this service's, so it is
//! the one that can tell which municipality an id is of.

use serde::{Deserialize, Serialize};

/// Endpoint (a query, no HTTP route): [`PlaceObjects`] → [`Places`].
pub const PLACE_OBJECTS: &str = "place_objects";

/// The kinds of object whose municipality the register knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlacedKind {
    /// A service site: its home municipality.
    Site,
    /// An organisation: its home municipality.
    Organisation,
    /// A member: the municipality that registered them.
    Member,
    /// A patient: their home municipality now.
    Patient,
}

/// One object to place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    pub kind: PlacedKind,
    pub id: String,
}

/// Query: the municipality of each object (the register caught up first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceObjects {
    pub objects: Vec<ObjectRef>,
}

/// The answer, in the order asked: the municipality's code, or `None` when no such object
/// exists (a closed site, a deactivated member and an erased patient still have theirs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Places {
    pub municipalities: Vec<Option<String>>,
}

/// The most objects one request may ask about (a body holds few ids).
pub const MAX_OBJECTS: usize = 256;
