//! Group commit: many writers' events stored together, so that a stream of independent
//! facts (access records) costs one fsync per batch instead of one per event.
//!
//! [`GroupCommit::record`] queues an event and returns its position once it is
//! acknowledged (fsynced). One background task per [`GroupCommit`] takes whatever is
//! waiting, up to [`GroupCommitConfig::max_batch`], and writes it. It never waits for more
//! to arrive: at low load an event goes out at once on its own, and under load events
//! gather while the groups before them are being written (at most
//! [`GroupCommitConfig::max_in_flight`] at a time).
//!
//! A group of at least [`GroupCommitConfig::atomic_from`] events is written as one atomic
//! batch ([`JetStreamStore::append_batch`]'s protocol: one acknowledgement, all or none). A
//! smaller group is written as single publishes in flight together, each acknowledged on
//! its own: on one server (R1, file storage) every atomic batch is staged in a temporary
//! file store and costs about 3 ms whatever its size, against about 0.2 ms per single
//! fsynced publish, so below about 16 events the single publishes are faster.
//!
//! Fail closed: if a write fails, every caller whose event it held gets
//! [`GroupCommitError::NotRecorded`] and must act as if the event was not recorded (e.g.
//! not return the data it was about). A failed write may still have been stored (an
//! acknowledgement lost on the way), and these events carry no `Nats-Msg-Id`: readers
//! de-duplicate by event id.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, field};

use crate::batch::{MAX_BATCH, Prepared};
use crate::{AppendError, EventEnvelope, JetStreamStore, Position};

/// How a [`GroupCommit`] gathers and commits events.
#[derive(Debug, Clone)]
pub struct GroupCommitConfig {
    /// The most events in one group, 1 to [`MAX_BATCH`] (1,000). Larger values are
    /// lowered to it.
    pub max_batch: usize,
    /// The smallest group written as one atomic batch; smaller groups go as single
    /// publishes in flight together. 16 on one server (where a batch costs about 3 ms,
    /// measured); a cluster stages batches in memory and may want a lower value. Values
    /// below 2 mean 2 (a single event is always published on its own).
    pub atomic_from: usize,
    /// Groups being written at once (at least 1; the server allows 50 batches per stream).
    /// One (the default) lets the next group gather while the current one is written:
    /// measured here it gives larger groups and more events/s than two or four.
    pub max_in_flight: usize,
    /// Events that may wait to be batched; `record` waits for room beyond that
    /// (backpressure), so a stalled store holds bounded memory.
    pub queue_capacity: usize,
    /// How long a write may take from its first message to its acknowledgement before
    /// every caller in it gets an error.
    pub commit_timeout: Duration,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        Self {
            max_batch: MAX_BATCH,
            atomic_from: 16,
            max_in_flight: 1,
            queue_capacity: 10_000,
            commit_timeout: Duration::from_secs(5),
        }
    }
}

/// Why an event was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum GroupCommitError {
    /// The event cannot be stored as given (bad aggregate id, too large); nothing was
    /// queued and no other event is affected.
    #[error("event refused: {0}")]
    Refused(String),
    /// The write holding the event (its atomic batch, or its own publish) failed: the
    /// event must be treated as not recorded. A batch's error is shared by all its events.
    /// If the source is [`AppendError::Unavailable`], the event may have been stored all
    /// the same.
    #[error("event not recorded")]
    NotRecorded(#[source] Arc<AppendError>),
    /// The group commit's task has stopped (its runtime is shutting down).
    #[error("group commit has stopped")]
    Stopped,
}

/// Counts of what a [`GroupCommit`] has written so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Groups taken from the queue and written.
    pub batches: u64,
    /// Of which written as one atomic batch (the others as single publishes).
    pub atomic_batches: u64,
    /// Events acknowledged.
    pub events: u64,
    /// Events reported not recorded.
    pub failed_events: u64,
    /// The largest group.
    pub largest_batch: u64,
}

impl GroupCommitStats {
    /// Events per group, on average (0 before the first).
    pub fn mean_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            (self.events + self.failed_events) as f64 / self.batches as f64
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    atomic_batches: AtomicU64,
    events: AtomicU64,
    failed_events: AtomicU64,
    largest_batch: AtomicU64,
}

/// An event waiting for its batch.
struct Waiting {
    message: Prepared,
    reply: oneshot::Sender<Result<Position, GroupCommitError>>,
    queued_at: Instant,
    /// The caller's span, linked from the batch's.
    span: tracing::Span,
}

/// Records events of one context's stream with group commit. Cheap to clone; the
/// background task ends when the last clone is dropped and its batches are done.
#[derive(Clone)]
pub struct GroupCommit {
    store: JetStreamStore,
    context: Arc<str>,
    queue: mpsc::Sender<Waiting>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("context", &self.context)
            .field("stats", &self.stats())
            .finish()
    }
}

impl GroupCommit {
    /// Starts the background task (on the current tokio runtime) that commits `context`'s
    /// events. The context's stream must exist ([`JetStreamStore::ensure_stream`]).
    pub fn start(store: JetStreamStore, context: &str, config: GroupCommitConfig) -> Self {
        let config = GroupCommitConfig {
            max_batch: config.max_batch.clamp(1, MAX_BATCH),
            atomic_from: config.atomic_from.max(2),
            max_in_flight: config.max_in_flight.max(1),
            queue_capacity: config.queue_capacity.max(1),
            commit_timeout: config.commit_timeout,
        };
        let (queue, waiting) = mpsc::channel(config.queue_capacity);
        let counters = Arc::new(Counters::default());
        let context: Arc<str> = context.into();
        tokio::spawn(run(
            store.clone(),
            context.clone(),
            config,
            waiting,
            counters.clone(),
        ));
        Self {
            store,
            context,
            queue,
            counters,
        }
    }

    /// The context whose stream this writes to.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Stores `event` and returns its position once it is durably stored (fsynced).
    ///
    /// Waits for room when the queue is full. Cancelling the call does not withdraw an
    /// event already queued: it may still be stored.
    #[tracing::instrument(
        name = "group_commit.record",
        skip_all,
        fields(context = %self.context, event_type = %event.event_type, sequence = field::Empty)
    )]
    pub async fn record(&self, event: EventEnvelope) -> Result<Position, GroupCommitError> {
        let message = self
            .store
            .prepare(&self.context, &event)
            .map_err(|reason| GroupCommitError::Refused(format!("{}: {reason}", event.event_id)))?;
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Waiting {
                message,
                reply,
                queued_at: Instant::now(),
                span: tracing::Span::current(),
            })
            .await
            .map_err(|_| GroupCommitError::Stopped)?;
        let position = answer.await.map_err(|_| GroupCommitError::Stopped)??;
        tracing::Span::current().record("sequence", position.sequence);
        Ok(position)
    }

    /// What has been committed so far.
    pub fn stats(&self) -> GroupCommitStats {
        let c = &self.counters;
        GroupCommitStats {
            batches: c.batches.load(Ordering::Relaxed),
            atomic_batches: c.atomic_batches.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
            failed_events: c.failed_events.load(Ordering::Relaxed),
            largest_batch: c.largest_batch.load(Ordering::Relaxed),
        }
    }
}

/// Takes what is waiting as soon as a batch may go out, until every handle is dropped.
async fn run(
    store: JetStreamStore,
    context: Arc<str>,
    config: GroupCommitConfig,
    mut waiting: mpsc::Receiver<Waiting>,
    counters: Arc<Counters>,
) {
    let mut in_flight = FuturesUnordered::new();
    let mut open = true;
    let mut batch = Vec::with_capacity(config.max_batch);
    loop {
        tokio::select! {
            biased;
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            received = waiting.recv_many(&mut batch, config.max_batch),
                if open && in_flight.len() < config.max_in_flight =>
            {
                if received == 0 {
                    open = false;
                    continue;
                }
                let events = std::mem::replace(&mut batch, Vec::with_capacity(config.max_batch));
                in_flight.push(write(
                    store.clone(),
                    context.clone(),
                    events,
                    &config,
                    counters.clone(),
                ));
            }
            else => break,
        }
    }
}

type Reply = oneshot::Sender<Result<Position, GroupCommitError>>;

/// Writes one group and answers every caller in it.
fn write(
    store: JetStreamStore,
    context: Arc<str>,
    events: Vec<Waiting>,
    config: &GroupCommitConfig,
    counters: Arc<Counters>,
) -> impl std::future::Future<Output = ()> + use<> {
    let size = events.len();
    let atomic = size >= config.atomic_from;
    let timeout = config.commit_timeout;
    let waited = events
        .iter()
        .map(|w| w.queued_at.elapsed())
        .max()
        .unwrap_or_default();
    let span = tracing::info_span!(
        "group_commit.batch",
        context = %context,
        batch_size = size,
        atomic,
        waited_us = waited.as_micros() as u64,
        first_sequence = field::Empty,
        failed = field::Empty,
    );
    let mut messages = Vec::with_capacity(size);
    let mut replies = Vec::with_capacity(size);
    for w in events {
        span.follows_from(&w.span);
        messages.push(w.message);
        replies.push(w.reply);
    }
    counters.batches.fetch_add(1, Ordering::Relaxed);
    counters
        .largest_batch
        .fetch_max(size as u64, Ordering::Relaxed);
    let written = async move {
        let failed = if atomic {
            counters.atomic_batches.fetch_add(1, Ordering::Relaxed);
            commit_atomic(&store, messages, replies, timeout).await
        } else {
            publish_each(&store, messages, replies, timeout).await
        };
        counters
            .events
            .fetch_add((size - failed) as u64, Ordering::Relaxed);
        counters
            .failed_events
            .fetch_add(failed as u64, Ordering::Relaxed);
        tracing::Span::current().record("failed", failed);
    };
    written.instrument(span)
}

/// One atomic batch; returns how many events were not recorded (all or none).
async fn commit_atomic(
    store: &JetStreamStore,
    messages: Vec<Prepared>,
    replies: Vec<Reply>,
    timeout: Duration,
) -> usize {
    match store.commit_batch(messages, timeout).await {
        Ok(ack) => {
            tracing::Span::current().record("first_sequence", ack.first_sequence);
            for (reply, position) in replies.into_iter().zip(ack.positions()) {
                // A caller that stopped waiting has nothing to hear.
                let _ = reply.send(Ok(position));
            }
            0
        }
        Err(error) => {
            tracing::warn!(error = %error, source = ?std::error::Error::source(&error),
                "group commit: batch failed; every event in it is reported not recorded");
            let error = Arc::new(error);
            let failed = replies.len();
            for reply in replies {
                let _ = reply.send(Err(GroupCommitError::NotRecorded(error.clone())));
            }
            failed
        }
    }
}

/// Single publishes in flight together, each answered on its acknowledgement; returns how
/// many were not recorded.
async fn publish_each(
    store: &JetStreamStore,
    messages: Vec<Prepared>,
    replies: Vec<Reply>,
    timeout: Duration,
) -> usize {
    let mut writes: FuturesUnordered<_> =
        messages
            .into_iter()
            .zip(replies)
            .map(|(message, reply)| async move {
                (store.publish_prepared(message, timeout).await, reply)
            })
            .collect();
    let mut failed = 0;
    while let Some((result, reply)) = writes.next().await {
        let answer = result.map_err(|error| {
            tracing::warn!(error = %error, source = ?std::error::Error::source(&error),
                "group commit: event not recorded");
            failed += 1;
            GroupCommitError::NotRecorded(Arc::new(error))
        });
        let _ = reply.send(answer);
    }
    failed
}
