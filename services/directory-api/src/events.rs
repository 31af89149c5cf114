//! The directory stream's events.

use event_store::{DecodeError, EventContract, decode_tagged, encode_tagged};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::availability::{Accepting, Listing, Vacancy};

/// Who updated, as colleagues know them (a professional's name and site are not patient data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Updater {
    pub member_id: String,
    pub name: String,
    pub profession: Option<String>,
    pub site_name: Option<String>,
}

/// Every event of the directory context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum DirectoryEvent {
    /// A site said what it can take now (the whole status; the one before stays in the stream).
    AvailabilityUpdated {
        site_id: String,
        /// The site's name and kind when it was said (as identity's register had them).
        site_name: String,
        site_kind: String,
        /// The site's home municipality.
        municipality: String,
        accepting: Accepting,
        conditions: Option<String>,
        new_clients: Option<u32>,
        vacancies: Vec<Vacancy>,
        by: Updater,
    },
    /// A site's listing changed (the whole listing).
    ListingChanged {
        site_id: String,
        site_name: String,
        municipality: String,
        listing: Listing,
        by: Updater,
    },
}

const VERSIONS: &[(&str, u32)] = &[("AvailabilityUpdated", 1), ("ListingChanged", 1)];

impl EventContract for DirectoryEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::AvailabilityUpdated { .. } => "AvailabilityUpdated",
            Self::ListingChanged { .. } => "ListingChanged",
        }
    }

    fn current_version(event_type: &str) -> Option<u32> {
        VERSIONS
            .iter()
            .find(|(t, _)| *t == event_type)
            .map(|(_, v)| *v)
    }

    fn to_payload(&self) -> Value {
        encode_tagged(self).1
    }

    fn decode(event_type: &str, schema_version: u32, payload: Value) -> Result<Self, DecodeError> {
        let current = Self::current_version(event_type)
            .ok_or_else(|| DecodeError::UnknownType(event_type.to_owned()))?;
        decode_tagged(event_type, schema_version, current, payload, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_round_trips_through_its_payload() {
        let event = DirectoryEvent::AvailabilityUpdated {
            site_id: "s".into(),
            site_name: "みずうみ居宅介護支援事業所".into(),
            site_kind: "care_management_office".into(),
            municipality: "322032".into(),
            accepting: Accepting::Conditional,
            conditions: Some("要介護3まで".into()),
            new_clients: Some(2),
            vacancies: vec![],
            by: Updater {
                member_id: "m".into(),
                name: "看護 花子".into(),
                profession: None,
                site_name: None,
            },
        };
        let back = DirectoryEvent::decode("AvailabilityUpdated", 1, event.to_payload()).unwrap();
        assert_eq!(back, event);
    }
}
