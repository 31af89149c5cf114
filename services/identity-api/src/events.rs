//! Events of the identity context: public, versioned contracts.
//!
//! Type names never change; a payload change bumps the schema version and adds an
//! upcaster, so every stored version stays readable.

use event_store::{DecodeError, EventContract, Upcaster, decode_tagged, encode_tagged};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::municipalities::{AreaKind, GroupKind};

/// Everything that happens in the identity context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum IdentityEvent {
    /// A municipality joined the region's register. v2 added `prefecture_code`.
    MunicipalityRegistered {
        /// Local government code.
        code: String,
        /// Name in kanji.
        name: String,
        /// Reading in katakana.
        name_kana: String,
        /// Two-digit prefecture code.
        prefecture_code: String,
    },
    /// A municipality's name changed.
    MunicipalityRenamed {
        /// Local government code.
        code: String,
        /// New name in kanji.
        name: String,
        /// New reading in katakana.
        name_kana: String,
    },
    /// An area (ward, daily-life area) was added below a municipality.
    AreaAdded {
        /// The municipality.
        code: String,
        /// The area's id.
        area_id: String,
        /// Ward or daily-life area.
        kind: AreaKind,
        /// Name in kanji.
        name: String,
        /// Reading in katakana.
        name_kana: String,
    },
    /// An area was removed.
    AreaRemoved {
        /// The municipality.
        code: String,
        /// The area's id.
        area_id: String,
    },
    /// A group of municipalities was formed.
    MunicipalityGroupFormed {
        /// The group's id.
        group_id: String,
        /// What holds it together.
        kind: GroupKind,
        /// Name in kanji.
        name: String,
        /// Reading in katakana.
        name_kana: String,
        /// Member codes.
        members: Vec<String>,
    },
    /// A municipality joined a group.
    MunicipalityJoinedGroup {
        /// The group.
        group_id: String,
        /// The municipality.
        code: String,
    },
    /// A municipality left a group.
    MunicipalityLeftGroup {
        /// The group.
        group_id: String,
        /// The municipality.
        code: String,
    },
}

/// Current schema versions.
const VERSIONS: &[(&str, u32)] = &[
    ("MunicipalityRegistered", 2),
    ("MunicipalityRenamed", 1),
    ("AreaAdded", 1),
    ("AreaRemoved", 1),
    ("MunicipalityGroupFormed", 1),
    ("MunicipalityJoinedGroup", 1),
    ("MunicipalityLeftGroup", 1),
];

/// v1 of `MunicipalityRegistered` had no prefecture: it is the code's first two digits.
fn registered_v1_to_v2(mut payload: Value) -> Result<Value, String> {
    let code = payload
        .get("code")
        .and_then(Value::as_str)
        .ok_or("code is missing")?;
    let prefecture = code.get(..2).ok_or("code is too short")?.to_owned();
    payload["prefecture_code"] = Value::String(prefecture);
    Ok(payload)
}

const UPCASTERS: &[Upcaster] = &[Upcaster {
    event_type: "MunicipalityRegistered",
    from_version: 1,
    upcast: registered_v1_to_v2,
}];

impl EventContract for IdentityEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::MunicipalityRegistered { .. } => "MunicipalityRegistered",
            Self::MunicipalityRenamed { .. } => "MunicipalityRenamed",
            Self::AreaAdded { .. } => "AreaAdded",
            Self::AreaRemoved { .. } => "AreaRemoved",
            Self::MunicipalityGroupFormed { .. } => "MunicipalityGroupFormed",
            Self::MunicipalityJoinedGroup { .. } => "MunicipalityJoinedGroup",
            Self::MunicipalityLeftGroup { .. } => "MunicipalityLeftGroup",
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
        decode_tagged(event_type, schema_version, current, payload, UPCASTERS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v1_registration_reads_with_its_prefecture() {
        let v1 = serde_json::json!({"code": "322032", "name": "出雲市", "name_kana": "イズモシ"});
        let ev = IdentityEvent::decode("MunicipalityRegistered", 1, v1).unwrap();
        assert_eq!(
            ev,
            IdentityEvent::MunicipalityRegistered {
                code: "322032".into(),
                name: "出雲市".into(),
                name_kana: "イズモシ".into(),
                prefecture_code: "32".into()
            }
        );
    }

    #[test]
    fn every_event_round_trips_at_its_current_version() {
        let events = vec![
            IdentityEvent::MunicipalityRenamed {
                code: "1".into(),
                name: "a".into(),
                name_kana: "ア".into(),
            },
            IdentityEvent::AreaAdded {
                code: "1".into(),
                area_id: "x".into(),
                kind: AreaKind::Ward,
                name: "a".into(),
                name_kana: "ア".into(),
            },
            IdentityEvent::MunicipalityGroupFormed {
                group_id: "g".into(),
                kind: GroupKind::WideAreaUnion,
                name: "a".into(),
                name_kana: "ア".into(),
                members: vec!["1".into()],
            },
        ];
        for ev in events {
            let t = ev.event_type();
            let v = IdentityEvent::current_version(t).unwrap();
            assert_eq!(IdentityEvent::decode(t, v, ev.to_payload()).unwrap(), ev);
        }
    }

    #[test]
    fn an_unknown_event_type_is_reported() {
        assert!(matches!(
            IdentityEvent::decode("Nope", 1, Value::Null),
            Err(DecodeError::UnknownType(_))
        ));
    }
}
