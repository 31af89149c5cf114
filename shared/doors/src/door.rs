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
