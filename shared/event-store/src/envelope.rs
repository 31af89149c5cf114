use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who may see an event's data; decides what [`EventEnvelope::municipality`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Visible to every signed-in member of the region (the municipality register,
    /// directory listings, region boards). `municipality` is `None`.
    Region,
    /// Visible to members of one municipality. `municipality` is its code.
    Municipality,
    /// A patient's data, visible only through consent. `municipality` is the patient's
    /// home municipality when the event happened (it may change; the subject never does).
    Patient,
}

/// Who caused an event: `operator:bootstrap`, `member:<id>`, `service:<name>`, `system`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Actor(pub String);

impl Actor {
    /// The platform itself (reactors, expiries).
    pub fn system() -> Self {
        Self("system".to_owned())
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an event is stored: a stream and its sequence there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// The stream's name.
    pub stream: String,
    /// The event's sequence in that stream (from 1).
    pub sequence: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.stream, self.sequence)
    }
}

impl std::str::FromStr for Position {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (stream, seq) = s
            .rsplit_once(':')
            .ok_or_else(|| "a position looks like STREAM:SEQUENCE".to_owned())?;
        if stream.is_empty()
            || !stream
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err("the stream name of a position is letters, digits, _ and -".to_owned());
        }
        let sequence = seq
            .parse::<u64>()
            .map_err(|_| "the sequence of a position is a non-negative integer".to_owned())?;
        Ok(Self {
            stream: stream.to_owned(),
            sequence,
        })
    }
}

/// The stored form of every event: a public, versioned contract that integrators read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Unique id (UUIDv7, time-ordered); also the `Tsunagu-Event-Id` header of the stored
    /// message, the `Nats-Msg-Id` of a single append, and the key readers de-duplicate by.
    pub event_id: Uuid,
    /// The event's type name, e.g. `MunicipalityRegistered`.
    pub event_type: String,
    /// The payload's schema version; older versions are upcast when read.
    pub schema_version: u32,
    /// Who may see it.
    pub visibility: Visibility,
    /// The municipality code per [`Visibility`].
    pub municipality: Option<String>,
    /// The aggregate's type, e.g. `municipality`.
    pub aggregate_type: String,
    /// The aggregate's id, stable for its whole life.
    pub aggregate_id: String,
    /// When it happened, from the service's clock.
    pub occurred_at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// The request that led to it (shared by every event of one request).
    pub correlation_id: Uuid,
    /// The event or command that directly caused it, if any.
    pub causation_id: Option<Uuid>,
    /// W3C trace context of the request that produced it.
    pub traceparent: Option<String>,
    /// The event's data, in `schema_version`'s shape.
    pub payload: serde_json::Value,
}

/// An event about to be appended. The store fills in nothing: ids and time come from the
/// caller (and so from its clock), which keeps appends retryable with the same id.
pub type NewEvent = EventEnvelope;

/// An event read back from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Where it is stored.
    pub position: Position,
    /// What was stored (payload already upcast if the reader asked for it).
    pub envelope: EventEnvelope,
}

/// Checks that `token` can be one token of a subject: ASCII letters, digits, `-` and `_`,
/// 1–128 characters. Aggregate types and ids must pass, so no id can smuggle `.`, `*` or
/// `>` into a subject.
pub fn validate_token(token: &str) -> Result<(), String> {
    if token.is_empty() || token.len() > 128 {
        return Err(format!("{token:?} must be 1 to 128 characters"));
    }
    if !token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{token:?} may hold only ASCII letters, digits, '-' and '_'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_from_its_text() {
        let p: Position = "TSUNAGU_IDENTITY:42".parse().unwrap();
        assert_eq!(p.sequence, 42);
        assert_eq!(p.to_string(), "TSUNAGU_IDENTITY:42");
        assert!("nope".parse::<Position>().is_err());
        assert!("A:B:x".parse::<Position>().is_err());
    }

    #[test]
    fn subject_tokens_refuse_wildcards_and_dots() {
        assert!(validate_token("322032").is_ok());
        assert!(validate_token("0190a-b_c").is_ok());
        for bad in ["", "a.b", "*", ">", "a b", "日本"] {
            assert!(validate_token(bad).is_err(), "{bad:?} accepted");
        }
    }
}
