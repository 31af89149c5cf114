//! The event store: the only code of the platform that writes to streams.
//!
//! Events are the source of truth. Each bounded context (identity, messaging, directory,
//! notifications, audit) has one JetStream stream; an aggregate's events go to the subject
//! `<namespace>.<context>.<aggregate_type>.<aggregate_id>`, which never changes over the
//! aggregate's life. Every event travels in an [`EventEnvelope`] with its id (UUIDv7),
//! type and schema version, visibility, municipality, aggregate, time, actor, correlation,
//! causation and W3C trace context.
//!
//! What it promises:
//! - appends are conditional on the aggregate's last subject sequence ([`ExpectedVersion`]);
//!   a concurrent writer gets [`AppendError::Conflict`], never a silent overwrite;
//! - every append carries `Nats-Msg-Id` = event id, so a retried append is stored once
//!   (within the stream's duplicate window) and answered with the original position;
//! - streams are file-backed, `discard: new`, deny delete and purge, with no age, size or
//!   count limit that could drop an event;
//! - it refuses to start against a nats-server older than 2.12.3;
//! - streams of independent facts (access records) can be written in atomic batches
//!   ([`JetStreamStore::append_batch`], up to [`MAX_BATCH`] events, all or none) and with
//!   group commit ([`GroupCommit`]: many writers, one fsync per batch). Batches carry no
//!   `Nats-Msg-Id` (the server refuses it there), so a batch retried after a lost
//!   acknowledgement can be stored twice: readers de-duplicate by event id, which every
//!   stored event carries in its envelope and in the `Tsunagu-Event-Id` header.
//!
//! The store sits behind the [`EventStore`] trait so another backend (e.g. EventStoreDB)
//! could live beside JetStream; [`JetStreamStore`] is the one used here.

mod batch;
mod envelope;
mod group_commit;
mod jetstream;
mod upcast;

pub use batch::{BATCH_TIMEOUT, BatchAck, EVENT_ID_HEADER, MAX_BATCH};
pub use group_commit::{GroupCommit, GroupCommitConfig, GroupCommitError, GroupCommitStats};

pub use envelope::{
    Actor, EventEnvelope, NewEvent, Position, RecordedEvent, Visibility, validate_token,
};
pub use jetstream::{
    Delivered, JetStreamStore, MIN_SERVER_VERSION, PendingAppend, StoreConfig, Subscription,
};
pub use upcast::{DecodeError, EventContract, Upcaster, decode_tagged, encode_tagged};

use std::future::Future;

/// What the writer believes about the aggregate before appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// The aggregate must not exist yet (its subject is empty): expected sequence 0.
    NoStream,
    /// The aggregate's last event is at this stream sequence.
    Exact(u64),
    /// No check. Only for streams of independent facts (e.g. access records), never for
    /// an aggregate whose invariants depend on its history.
    Any,
}

impl ExpectedVersion {
    /// The version a writer expects after loading an aggregate at `version` (0 = new).
    pub fn from_loaded(version: u64) -> Self {
        if version == 0 {
            Self::NoStream
        } else {
            Self::Exact(version)
        }
    }
}

/// The result of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Where the event is stored.
    pub position: Position,
    /// True when the event id was already stored (a retry): nothing new was written and
    /// `position` is the original one.
    pub duplicate: bool,
}

/// Why an append failed.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended to the aggregate first.
    #[error("concurrent change: {subject} is no longer at the expected version {expected:?}")]
    Conflict {
        /// The aggregate's subject.
        subject: String,
        /// What the writer expected.
        expected: ExpectedVersion,
    },
    /// The event cannot be stored as given (bad aggregate id, payload too large…).
    #[error("event refused: {0}")]
    Refused(String),
    /// The store could not be reached or did not answer in time; the append may or may
    /// not have been stored, and retrying with the same event id is safe.
    #[error("event store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a read or set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The nats-server is older than the platform accepts.
    #[error("nats-server {found} is too old: {MIN_SERVER_VERSION} or newer is required")]
    ServerTooOld {
        /// The version the server reported.
        found: String,
    },
    /// A stored event could not be read as an envelope.
    #[error("stored event at {position} is not a valid envelope")]
    Corrupt {
        /// Where it is.
        position: Position,
        /// Why it could not be read.
        #[source]
        source: serde_json::Error,
    },
    /// The store could not be reached or answered with an error.
    #[error("event store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An append-only, per-aggregate-conditional event log.
pub trait EventStore: Send + Sync {
    /// Appends one event to its aggregate if the aggregate is at `expected`.
    fn append(
        &self,
        context: &str,
        expected: ExpectedVersion,
        event: NewEvent,
    ) -> impl Future<Output = Result<Appended, AppendError>> + Send;

    /// Every event of one aggregate, oldest first, and its version (0 = none).
    fn read_aggregate(
        &self,
        context: &str,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<(Vec<RecordedEvent>, u64), StoreError>> + Send;

    /// The version (last stream sequence) of one aggregate, 0 when it has no events.
    fn aggregate_version(
        &self,
        context: &str,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
