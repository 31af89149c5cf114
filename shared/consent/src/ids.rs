//! The ids the decision speaks of. Each is a string on the wire (serde `transparent`) and a
//! type of its own here, so a site id cannot be passed where a member id is meant.
//!
//! Ids are not checked by this crate: they are chosen by the identity service (UUIDv7 or a
//! slug) and checked as subject tokens when their events are appended.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as given.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id! {
    /// A patient (利用者・患者): the id of their aggregate, chosen at registration, never
    /// changed (a move keeps it). Pseudonymous: it says nothing about the person.
    PatientId
}

id! {
    /// A member of the platform (a professional, secretariat staff, an auditor…).
    MemberId
}

id! {
    /// A service site (事業所). Consent names sites, never whole organisations.
    SiteId
}

id! {
    /// One consent (one signed form and its amendments); its versions are numbered from 1.
    ConsentId
}

id! {
    /// One seat on a patient's care team (a site, or a named member of a site, in a part).
    MembershipId
}

id! {
    /// One break-glass access.
    GrantId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_plain_string_on_the_wire_and_compares_with_text() {
        let site = SiteId::from("site-1");
        assert_eq!(
            serde_json::to_value(&site).unwrap(),
            serde_json::json!("site-1")
        );
        let back: SiteId = serde_json::from_value(serde_json::json!("site-1")).unwrap();
        assert_eq!(back, site);
        assert_eq!(site, "site-1");
        assert_eq!(site.to_string(), "site-1");
        let mut map = std::collections::HashMap::new();
        map.insert(PatientId::new("p"), 1);
        assert_eq!(map.get("p"), Some(&1));
    }
}
