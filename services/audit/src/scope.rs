//! Whose records a reader of the audit log may see, from the caller's roles.

use permissions::{Action, Caller, Relationship};
use problem::Problem;

/// Whose records a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Auditors: every record.
    Region,
    /// The secretariat: records of its municipality, without clinical content.
    Municipality(String),
    /// A site admin: records of members working at their sites.
    Staff(Vec<String>),
}

impl Scope {
    /// The widest scope the caller's roles give, or 403.
    pub fn of(caller: &Caller) -> Result<Self, Problem> {
        let allowed = |action, ties: &[Relationship]| {
            permissions::decide(&caller.subject, action, ties).is_allowed()
        };
        if allowed(Action::ReadAuditLog, &[]) {
            return Ok(Self::Region);
        }
        if let Some(code) = &caller.municipality
            && allowed(
                Action::ReadMunicipalityAudit,
                &[Relationship::OwnMunicipality],
            )
        {
            return Ok(Self::Municipality(code.clone()));
        }
        if !caller.sites.is_empty()
            && allowed(Action::ReadOwnStaffAudit, &[Relationship::OwnOrganisation])
        {
            return Ok(Self::Staff(caller.sites.clone()));
        }
        Err(Problem::forbidden(
            "only auditors, the secretariat (their municipality) and site admins (their staff) read the audit log",
        ))
    }

    pub(crate) fn clinical(&self) -> bool {
        !matches!(self, Self::Municipality(_))
    }

    /// May the reader see the name of a member or site of `municipality`? Auditors see
    /// every name; the secretariat those of its municipality; a site admin reads only their
    /// staff's records, and sees the names in them.
    pub(crate) fn sees_names_in(&self, municipality: Option<&str>) -> bool {
        match self {
            Self::Region | Self::Staff(_) => true,
            Self::Municipality(code) => municipality == Some(code.as_str()),
        }
    }

    pub(crate) fn sees_patient_ids(&self) -> bool {
        !matches!(self, Self::Staff(_))
    }
}
