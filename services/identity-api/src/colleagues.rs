//! Who is asking, as colleagues know them: for another service that shows its writers by
//! name, profession and site (a board's posts). A professional's name and site are not a
//! patient's personal data, so nothing is decided or recorded here.

use serde::{Deserialize, Serialize};

pub use crate::patient_access::Author;

/// Endpoint: [`WhoAsks`] → [`Author`], for the member in the call's context.
pub const AUTHOR: &str = "author";

/// The site they act for: one of theirs (another is ignored); their first site if none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoAsks {
    #[serde(default)]
    pub site: Option<String>,
}

/// Endpoint: [`CentreStaff`] → [`Author`]: a member of the asker's coordination centre (an
/// active member of the asker's municipality holding `coordination_centre_staff`), by name;
/// anyone else answers 404, as a member nobody has.
pub const CENTRE_STAFF: &str = "centre_staff";

/// The member asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentreStaff {
    pub member_id: String,
}
