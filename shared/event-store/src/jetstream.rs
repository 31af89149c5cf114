use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, context::PublishErrorKind, stream};
use futures::{Stream, StreamExt};
use tracing::instrument;

use crate::{
    AppendError, Appended, EventEnvelope, EventStore, ExpectedVersion, NewEvent, Position,
    RecordedEvent, StoreError, validate_token,
};

/// The oldest nats-server the platform runs against: older ones lack atomic batch publish
/// and have known data-loss bugs (Jepsen, 2025).
pub const MIN_SERVER_VERSION: &str = "2.12.3";

/// How the store names and shapes its streams.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The root of every subject and the prefix of every stream name (`tsunagu` by
    /// default; tests use a fresh one each, so they can share a server).
    pub namespace: String,
    /// Stream replicas: 1 on one machine, 3 in a cluster.
    pub replicas: usize,
    /// How long JetStream remembers a `Nats-Msg-Id` to drop a retried append.
    pub duplicate_window: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            namespace: "tsunagu".to_owned(),
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
        }
    }
}

/// The event store on NATS JetStream.
#[derive(Clone)]
pub struct JetStreamStore {
    client: async_nats::Client,
    js: jetstream::Context,
    config: StoreConfig,
}

impl std::fmt::Debug for JetStreamStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamStore")
            .field("config", &self.config)
            .finish()
    }
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.trim_start_matches('v').split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// Whether a nats-server reporting `version` is new enough.
pub fn server_version_ok(version: &str) -> bool {
    match (parse_version(version), parse_version(MIN_SERVER_VERSION)) {
        (Some(found), Some(min)) => found >= min,
        _ => false,
    }
}

impl JetStreamStore {
    /// Wraps a connected client, refusing servers older than [`MIN_SERVER_VERSION`].
    pub fn new(client: async_nats::Client, config: StoreConfig) -> Result<Self, StoreError> {
        let found = client.server_info().version;
        if !server_version_ok(&found) {
            return Err(StoreError::ServerTooOld { found });
        }
        let js = jetstream::new(client.clone());
        Ok(Self { client, js, config })
    }

    /// The underlying NATS client.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The store's settings.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The JetStream context (for the batch writers of this crate).
    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// The stream holding `context`'s events, e.g. `TSUNAGU_IDENTITY`.
    pub fn stream_name(&self, context: &str) -> String {
        format!("{}_{}", self.config.namespace, context)
            .to_ascii_uppercase()
            .replace('-', "_")
    }

    /// The subject of one aggregate.
    pub fn subject(&self, context: &str, aggregate_type: &str, aggregate_id: &str) -> String {
        format!(
            "{}.{}.{}.{}",
            self.config.namespace, context, aggregate_type, aggregate_id
        )
    }

    /// A filter matching every event of a context.
    pub fn context_filter(&self, context: &str) -> String {
        format!("{}.{}.>", self.config.namespace, context)
    }

    /// A filter matching every event of one aggregate type in a context.
    pub fn aggregate_type_filter(&self, context: &str, aggregate_type: &str) -> String {
        format!("{}.{}.{}.*", self.config.namespace, context, aggregate_type)
    }

    /// Creates `context`'s stream, or brings its settings up to date. Called at start-up
    /// by every service for the contexts it writes.
    pub async fn ensure_stream(&self, context: &str) -> Result<(), StoreError> {
        validate_token(context).map_err(|e| StoreError::Unavailable(e.into()))?;
        let config = stream::Config {
            name: self.stream_name(context),
            description: Some(format!("tsunagu events of the {context} context")),
            subjects: vec![self.context_filter(context)],
            storage: stream::StorageType::File,
            num_replicas: self.config.replicas,
            retention: stream::RetentionPolicy::Limits,
            // Never drop an event: refuse new ones if a limit is ever hit.
            discard: stream::DiscardPolicy::New,
            max_age: Duration::ZERO,
            max_bytes: -1,
            max_messages: -1,
            max_messages_per_subject: -1,
            deny_delete: true,
            deny_purge: true,
            allow_rollup: false,
            allow_direct: true,
            allow_atomic_publish: true,
            duplicate_window: self.config.duplicate_window,
            ..Default::default()
        };
        match self.js.get_stream(&config.name).await {
            Ok(_) => {
                self.js.update_stream(config).await.map_err(unavailable)?;
            }
            Err(_) => {
                self.js.create_stream(config).await.map_err(unavailable)?;
            }
        }
        Ok(())
    }

    /// The last sequence of `context`'s stream (0 when empty).
    pub async fn last_sequence(&self, context: &str) -> Result<u64, StoreError> {
        let mut stream = self
            .js
            .get_stream(self.stream_name(context))
            .await
            .map_err(unavailable)?;
        Ok(stream
            .info()
            .await
            .map_err(unavailable)?
            .state
            .last_sequence)
    }

    /// Sends an append and returns once the server has the message, before its
    /// acknowledgement: lets a caller keep many appends in flight.
    #[instrument(skip_all, fields(event_type = %event.event_type, aggregate = %event.aggregate_type))]
    pub async fn submit(
        &self,
        context: &str,
        expected: ExpectedVersion,
        event: &NewEvent,
    ) -> Result<PendingAppend, AppendError> {
        validate_token(context).map_err(AppendError::Refused)?;
        validate_token(&event.aggregate_type).map_err(AppendError::Refused)?;
        validate_token(&event.aggregate_id).map_err(AppendError::Refused)?;
        let subject = self.subject(context, &event.aggregate_type, &event.aggregate_id);
        let body = serde_json::to_vec(event).map_err(|e| AppendError::Refused(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.event_id.to_string().as_str());
        headers.insert(crate::EVENT_ID_HEADER, event.event_id.to_string().as_str());
        match expected {
            ExpectedVersion::NoStream => {
                headers.insert("Nats-Expected-Last-Subject-Sequence", "0");
            }
            ExpectedVersion::Exact(seq) => {
                headers.insert(
                    "Nats-Expected-Last-Subject-Sequence",
                    seq.to_string().as_str(),
                );
            }
            ExpectedVersion::Any => {}
        }
        headers.insert("Tsunagu-Event-Type", event.event_type.as_str());
        telemetry::inject_into(&mut headers);
        let ack = self
            .js
            .publish_with_headers(subject.clone(), headers, body.into())
            .await
            .map_err(|e| AppendError::Unavailable(Box::new(e)))?;
        Ok(PendingAppend {
            ack,
            subject,
            expected,
            event_id: event.event_id.to_string(),
            stream: self.stream_name(context),
            js: self.js.clone(),
        })
    }

    /// Reads `context`'s events matching `filters` (all of the context when empty) from
    /// stream sequence `from` on, in order, with no gaps and no repeats, and keeps
    /// following new events. Nothing is acknowledged: a reader keeps its own position.
    pub async fn subscribe(
        &self,
        context: &str,
        filters: Vec<String>,
        from: u64,
    ) -> Result<Subscription, StoreError> {
        let policy = consumer::DeliverPolicy::ByStartSequence {
            start_sequence: from.max(1),
        };
        self.subscribe_with(context, filters, policy).await
    }

    /// Like [`subscribe`](Self::subscribe), from the first event stored at or after
    /// `since` (for readers that only care about recent facts, such as revocations).
    pub async fn subscribe_since(
        &self,
        context: &str,
        filters: Vec<String>,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Subscription, StoreError> {
        let start_time = time::OffsetDateTime::from_unix_timestamp(since.timestamp())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        self.subscribe_with(
            context,
            filters,
            consumer::DeliverPolicy::ByStartTime { start_time },
        )
        .await
    }

    async fn subscribe_with(
        &self,
        context: &str,
        filters: Vec<String>,
        deliver_policy: consumer::DeliverPolicy,
    ) -> Result<Subscription, StoreError> {
        let stream = self
            .js
            .get_stream(self.stream_name(context))
            .await
            .map_err(unavailable)?;
        let filters = if filters.is_empty() {
            vec![self.context_filter(context)]
        } else {
            filters
        };
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subjects: filters,
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let messages = consumer.messages().await.map_err(unavailable)?;
        let stream_name = self.stream_name(context);
        let inner = messages.map(move |m| {
            let m = m.map_err(unavailable)?;
            let info = m
                .info()
                .map_err(|e| StoreError::Unavailable(e.to_string().into()))?;
            let position = Position {
                stream: stream_name.clone(),
                sequence: info.stream_sequence,
            };
            let pending = info.pending;
            let envelope = serde_json::from_slice::<EventEnvelope>(&m.payload);
            Ok(Delivered {
                position,
                pending,
                envelope,
            })
        });
        Ok(Subscription {
            inner: Box::pin(inner),
        })
    }
}

/// One event as a subscriber receives it. The envelope is left for the reader to check,
/// so that one unreadable event can be parked instead of stopping the reader.
#[derive(Debug)]
pub struct Delivered {
    /// Where it is stored.
    pub position: Position,
    /// How many matching events the server still holds after this one.
    pub pending: u64,
    /// The stored envelope, or why it could not be read.
    pub envelope: Result<EventEnvelope, serde_json::Error>,
}

/// An ordered, gap-free stream of [`Delivered`] events.
pub struct Subscription {
    inner: std::pin::Pin<Box<dyn Stream<Item = Result<Delivered, StoreError>> + Send>>,
}

impl Stream for Subscription {
    type Item = Result<Delivered, StoreError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// An append the server has received but not yet acknowledged.
pub struct PendingAppend {
    ack: jetstream::context::PublishAckFuture,
    subject: String,
    expected: ExpectedVersion,
    event_id: String,
    stream: String,
    js: jetstream::Context,
}

impl PendingAppend {
    /// Waits for the server's acknowledgement (after its fsync).
    pub async fn acknowledged(self) -> Result<Appended, AppendError> {
        let PendingAppend {
            ack,
            subject,
            expected,
            event_id,
            stream,
            js,
        } = self;
        match ack.await {
            Ok(ack) => Ok(Appended {
                position: Position {
                    stream: ack.stream,
                    sequence: ack.sequence,
                },
                duplicate: ack.duplicate,
            }),
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                // The server checks the expected sequence before the message id, so a
                // retry of an append that was stored (its acknowledgement lost) looks like
                // a conflict. If the aggregate's last event is this very event, it is one.
                if let Some(sequence) = already_stored(&js, &stream, &subject, &event_id).await {
                    return Ok(Appended {
                        position: Position { stream, sequence },
                        duplicate: true,
                    });
                }
                Err(AppendError::Conflict { subject, expected })
            }
            Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
                Err(AppendError::Refused(e.to_string()))
            }
            Err(e) => Err(AppendError::Unavailable(Box::new(e))),
        }
    }
}

/// The sequence of `subject`'s last message if it carries `event_id`.
async fn already_stored(
    js: &jetstream::Context,
    stream: &str,
    subject: &str,
    event_id: &str,
) -> Option<u64> {
    let stream = js.get_stream_no_info(stream).await.ok()?;
    let last = stream.get_last_raw_message_by_subject(subject).await.ok()?;
    let id = last.headers.get("Nats-Msg-Id")?;
    (id.as_str() == event_id).then_some(last.sequence)
}

impl EventStore for JetStreamStore {
    async fn append(
        &self,
        context: &str,
        expected: ExpectedVersion,
        event: NewEvent,
    ) -> Result<Appended, AppendError> {
        self.submit(context, expected, &event)
            .await?
            .acknowledged()
            .await
    }

    async fn aggregate_version(
        &self,
        context: &str,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<u64, StoreError> {
        validate_token(aggregate_id).map_err(|e| StoreError::Unavailable(e.into()))?;
        let stream = self
            .js
            .get_stream_no_info(self.stream_name(context))
            .await
            .map_err(unavailable)?;
        match stream
            .get_last_raw_message_by_subject(&self.subject(context, aggregate_type, aggregate_id))
            .await
        {
            Ok(m) => Ok(m.sequence),
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(0),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn read_aggregate(
        &self,
        context: &str,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<(Vec<RecordedEvent>, u64), StoreError> {
        let last = self
            .aggregate_version(context, aggregate_type, aggregate_id)
            .await?;
        if last == 0 {
            return Ok((Vec::new(), 0));
        }
        // Direct gets, one event at a time: a consumer per load would pile up on the
        // server (1,000 per stream) faster than their inactivity expiry removes them.
        let subject = self.subject(context, aggregate_type, aggregate_id);
        let stream = self
            .js
            .get_stream_no_info(self.stream_name(context))
            .await
            .map_err(unavailable)?;
        let stream_name = self.stream_name(context);
        let mut events = Vec::new();
        let mut next = 1;
        while next <= last {
            let message = stream
                .direct_get_next_for_subject(subject.as_str(), Some(next))
                .await
                .map_err(unavailable)?;
            let position = Position {
                stream: stream_name.clone(),
                sequence: message.sequence,
            };
            let envelope =
                serde_json::from_slice::<EventEnvelope>(&message.payload).map_err(|source| {
                    StoreError::Corrupt {
                        position: position.clone(),
                        source,
                    }
                })?;
            next = message.sequence + 1;
            events.push(RecordedEvent { position, envelope });
        }
        Ok((events, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_older_than_2_12_3_are_refused() {
        assert!(!server_version_ok("2.9.10"));
        assert!(!server_version_ok("2.12.2"));
        assert!(server_version_ok("2.12.3"));
        assert!(server_version_ok("2.15.1"));
        assert!(server_version_ok("v2.13.0-beta.1"));
        assert!(!server_version_ok("garbage"));
    }
}
