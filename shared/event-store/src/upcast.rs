use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// An event read from the store could not become a domain event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The type name is not one this reader knows.
    #[error("unknown event type {0}")]
    UnknownType(String),
    /// The stored version is newer than this reader understands.
    #[error("{event_type} v{found} is newer than this reader's v{known}")]
    FromTheFuture {
        /// The event type.
        event_type: String,
        /// The stored version.
        found: u32,
        /// The newest version this reader knows.
        known: u32,
    },
    /// No upcaster leads from the stored version to the current one.
    #[error("no upcaster for {event_type} v{from}")]
    MissingUpcaster {
        /// The event type.
        event_type: String,
        /// The version with no way forward.
        from: u32,
    },
    /// An upcaster refused the payload.
    #[error("upcasting {event_type} v{from} failed: {reason}")]
    Upcast {
        /// The event type.
        event_type: String,
        /// The version being upcast.
        from: u32,
        /// Why.
        reason: String,
    },
    /// The payload does not match the event type's schema.
    #[error("payload of {event_type} does not match its schema")]
    Payload {
        /// The event type.
        event_type: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
}

/// Lifts one event type's payload from `from_version` to `from_version + 1`.
///
/// Stored events are never rewritten: old versions stay in the stream and are upcast
/// every time they are read, so a reader only ever sees the current shape.
#[derive(Debug, Clone, Copy)]
pub struct Upcaster {
    /// The event type it applies to.
    pub event_type: &'static str,
    /// The version it reads.
    pub from_version: u32,
    /// The transformation.
    pub upcast: fn(Value) -> Result<Value, String>,
}

/// A context's family of events: a public, versioned contract.
pub trait EventContract: Sized {
    /// This event's type name (stable forever).
    fn event_type(&self) -> &'static str;
    /// The current schema version of `event_type`, or `None` if unknown.
    fn current_version(event_type: &str) -> Option<u32>;
    /// The payload in the current version's shape.
    fn to_payload(&self) -> Value;
    /// Reads a stored event, upcasting older versions.
    fn decode(event_type: &str, schema_version: u32, payload: Value) -> Result<Self, DecodeError>;
}

/// Splits an enum serialised with `#[serde(tag = "type", content = "data")]` into its type
/// name and payload.
pub fn encode_tagged<E: Serialize>(event: &E) -> (String, Value) {
    match serde_json::to_value(event) {
        Ok(Value::Object(mut map)) => {
            let event_type = match map.remove("type") {
                Some(Value::String(t)) => t,
                _ => String::new(),
            };
            let payload = map
                .remove("data")
                .unwrap_or(Value::Object(Default::default()));
            (event_type, payload)
        }
        // An event enum that does not serialise to a tagged object is a programming error
        // caught by every context's round-trip tests.
        _ => (String::new(), Value::Null),
    }
}

/// Reads a tagged enum back from a stored type name, version and payload, applying the
/// `upcasters` chain from `schema_version` up to `current`.
pub fn decode_tagged<E: DeserializeOwned>(
    event_type: &str,
    schema_version: u32,
    current: u32,
    mut payload: Value,
    upcasters: &[Upcaster],
) -> Result<E, DecodeError> {
    if schema_version > current {
        return Err(DecodeError::FromTheFuture {
            event_type: event_type.to_owned(),
            found: schema_version,
            known: current,
        });
    }
    let mut version = schema_version;
    while version < current {
        let step = upcasters
            .iter()
            .find(|u| u.event_type == event_type && u.from_version == version)
            .ok_or_else(|| DecodeError::MissingUpcaster {
                event_type: event_type.to_owned(),
                from: version,
            })?;
        payload = (step.upcast)(payload).map_err(|reason| DecodeError::Upcast {
            event_type: event_type.to_owned(),
            from: version,
            reason,
        })?;
        version += 1;
    }
    let tagged = serde_json::json!({ "type": event_type, "data": payload });
    serde_json::from_value(tagged).map_err(|source| DecodeError::Payload {
        event_type: event_type.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", content = "data")]
    enum Ev {
        Renamed { name: String, reading: String },
    }

    fn v1_to_v2(mut v: Value) -> Result<Value, String> {
        let name = v["name"].as_str().ok_or("no name")?.to_owned();
        v["reading"] = Value::String(format!("({name})"));
        Ok(v)
    }

    const UP: &[Upcaster] = &[Upcaster {
        event_type: "Renamed",
        from_version: 1,
        upcast: v1_to_v2,
    }];

    #[test]
    fn an_old_version_is_upcast_when_read() {
        let ev: Ev = decode_tagged("Renamed", 1, 2, serde_json::json!({"name": "x"}), UP).unwrap();
        assert_eq!(
            ev,
            Ev::Renamed {
                name: "x".into(),
                reading: "(x)".into()
            }
        );
    }

    #[test]
    fn a_version_from_the_future_is_refused() {
        let err = decode_tagged::<Ev>("Renamed", 3, 2, serde_json::json!({}), UP).unwrap_err();
        assert!(matches!(err, DecodeError::FromTheFuture { .. }));
    }

    #[test]
    fn a_gap_in_the_upcaster_chain_is_reported() {
        let err =
            decode_tagged::<Ev>("Renamed", 1, 3, serde_json::json!({"name": "x"}), UP).unwrap_err();
        assert!(matches!(err, DecodeError::MissingUpcaster { from: 2, .. }));
    }

    #[test]
    fn encoding_splits_type_and_payload() {
        let (t, p) = encode_tagged(&Ev::Renamed {
            name: "a".into(),
            reading: "b".into(),
        });
        assert_eq!(t, "Renamed");
        assert_eq!(p["reading"], "b");
    }
}
