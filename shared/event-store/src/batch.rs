//! Atomic batches (JetStream batch publishing, ADR-50): up to [`MAX_BATCH`] events of one
//! stream stored all together or not at all, with one fsync and one acknowledgement.
//!
//! The protocol is plain core NATS with headers: every message carries `Nats-Batch-Id` and
//! `Nats-Batch-Sequence` (1, 2, …); the first is sent with a reply subject (the server
//! answers with an empty message, or an error if it will not take the batch), the last also
//! carries `Nats-Batch-Commit: 1` and is answered with a publish acknowledgement naming the
//! batch, its size and the sequence of its last message. The messages of a batch are
//! stored contiguously, so the acknowledgement gives every event's position.
//!
//! `Nats-Msg-Id` is refused inside a batch, so the server cannot drop a retried batch: a
//! batch whose acknowledgement was lost and that is sent again is stored twice. Each
//! message carries its event id in `Tsunagu-Event-Id` (and in the envelope), and readers
//! de-duplicate by event id.

use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::{ErrorCode, publish::PublishAck, response::Response};
use async_nats::{HeaderMap, StatusCode};
use bytes::Bytes;
use futures::StreamExt;
use tracing::instrument;

use crate::{AppendError, EventEnvelope, JetStreamStore, Position, validate_token};

/// The most events one atomic batch may hold (the server's limit).
pub const MAX_BATCH: usize = 1_000;

/// How long [`JetStreamStore::append_batch`] waits for a batch's acknowledgement. The
/// server abandons a batch that has been silent for 10 s.
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes kept free in every message for the batch headers added when it is sent.
const BATCH_HEADER_ROOM: usize = 160;

/// The header carrying the event id of every stored event (the envelope has it too).
pub const EVENT_ID_HEADER: &str = "Tsunagu-Event-Id";

/// What the server acknowledged for a committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchAck {
    /// The stream holding the batch.
    pub stream: String,
    /// The sequence of the batch's first event; the others follow it without gaps, in the
    /// order they were given.
    pub first_sequence: u64,
    /// How many events were stored.
    pub count: usize,
    /// The batch's id (`Nats-Batch-Id`).
    pub batch_id: String,
}

impl BatchAck {
    /// The sequence of the batch's last event.
    pub fn last_sequence(&self) -> u64 {
        self.first_sequence + self.count as u64 - 1
    }

    /// Where the `index`-th event of the batch (from 0) is stored.
    pub fn position(&self, index: usize) -> Option<Position> {
        (index < self.count).then(|| Position {
            stream: self.stream.clone(),
            sequence: self.first_sequence + index as u64,
        })
    }

    /// Every event's position, in the order the events were given.
    pub fn positions(&self) -> impl Iterator<Item = Position> + '_ {
        (0..self.count as u64).map(|i| Position {
            stream: self.stream.clone(),
            sequence: self.first_sequence + i,
        })
    }
}

/// One event, checked and serialised, ready to go into a batch.
#[derive(Debug)]
pub(crate) struct Prepared {
    subject: String,
    headers: HeaderMap,
    body: Bytes,
}

fn unavailable(reason: impl Into<String>) -> AppendError {
    AppendError::Unavailable(reason.into().into())
}

/// The size of a header block on the wire: `NATS/1.0\r\n`, `name: value\r\n` each, `\r\n`.
fn headers_wire_len(headers: &HeaderMap) -> usize {
    let mut len = "NATS/1.0\r\n\r\n".len();
    for (name, values) in headers.iter() {
        for value in values {
            len += AsRef::<[u8]>::as_ref(name).len() + 2 + value.as_str().len() + 2;
        }
    }
    len
}

/// What a refusal of the server means for the writer.
fn server_error(error: async_nats::jetstream::Error) -> AppendError {
    match error.error_code() {
        // The batch cannot be stored as sent, whatever the retry: a fault of the writer or
        // of the stream's settings.
        ErrorCode::ATOMIC_PUBLISH_DISABLED
        | ErrorCode::ATOMIC_PUBLISH_MISSING_SEQ
        | ErrorCode::ATOMIC_PUBLISH_UNSUPPORTED_HEADER
        | ErrorCode::ATOMIC_PUBLISH_INVALID_BATCH_ID
        | ErrorCode::ATOMIC_PUBLISH_TOO_LARGE_BATCH
        | ErrorCode::ATOMIC_PUBLISH_INVALID_BATCH_COMMIT
        | ErrorCode::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE => {
            AppendError::Refused(format!("batch refused by the server: {error}"))
        }
        // Incomplete (a message lost on the way, e.g. across a reconnect), too many batches
        // in flight, storage trouble: nothing was stored and a later attempt may succeed.
        _ => AppendError::Unavailable(Box::new(error)),
    }
}

impl JetStreamStore {
    /// Checks and serialises one event of `context` for a batch, with the same subject,
    /// body and headers as [`submit`](Self::submit) except `Nats-Msg-Id`, which the server
    /// refuses inside a batch. The trace context is the current span's.
    pub(crate) fn prepare(&self, context: &str, event: &EventEnvelope) -> Result<Prepared, String> {
        validate_token(context)?;
        validate_token(&event.aggregate_type)?;
        validate_token(&event.aggregate_id)?;
        let subject = self.subject(context, &event.aggregate_type, &event.aggregate_id);
        let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        let mut headers = HeaderMap::new();
        headers.insert(EVENT_ID_HEADER, event.event_id.to_string().as_str());
        headers.insert("Tsunagu-Event-Type", event.event_type.as_str());
        telemetry::inject_into(&mut headers);
        let size = headers_wire_len(&headers) + BATCH_HEADER_ROOM + body.len();
        let max = self.client().server_info().max_payload;
        if size > max {
            return Err(format!(
                "{size} bytes with headers, more than the server's max_payload of {max}"
            ));
        }
        Ok(Prepared {
            subject,
            headers,
            body: body.into(),
        })
    }

    /// Stores `envelopes` in `context`'s stream atomically: all of them, contiguously and in
    /// the given order, or none. Unconditional (no expected version): for streams of
    /// independent facts such as access records, never for aggregate decisions.
    ///
    /// At most [`MAX_BATCH`] events; more, none, or an event that cannot be stored (bad
    /// aggregate id, too large) are [`AppendError::Refused`] before anything is sent.
    /// Acknowledged means fsynced (the servers run with `sync_interval: always`).
    ///
    /// Stored events look exactly like [`append`](crate::EventStore::append)'s (same subject,
    /// envelope and headers, the event id in `Tsunagu-Event-Id`) except that they carry no
    /// `Nats-Msg-Id`: the server cannot drop a retried batch, so a batch retried after
    /// [`AppendError::Unavailable`] (whose first attempt may have been stored) can be
    /// stored twice. Readers de-duplicate by event id.
    #[instrument(skip_all, fields(context = %context, events = envelopes.len()))]
    pub async fn append_batch(
        &self,
        context: &str,
        envelopes: Vec<EventEnvelope>,
    ) -> Result<BatchAck, AppendError> {
        validate_token(context).map_err(AppendError::Refused)?;
        if envelopes.is_empty() {
            return Err(AppendError::Refused(
                "a batch needs at least one event".to_owned(),
            ));
        }
        if envelopes.len() > MAX_BATCH {
            return Err(AppendError::Refused(format!(
                "a batch holds at most {MAX_BATCH} events, this one has {}: split it",
                envelopes.len()
            )));
        }
        let messages = envelopes
            .iter()
            .enumerate()
            .map(|(i, e)| {
                self.prepare(context, e).map_err(|reason| {
                    AppendError::Refused(format!("event {i} ({}): {reason}", e.event_id))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.commit_batch(messages, BATCH_TIMEOUT).await
    }

    /// Publishes one prepared event on its own, with the same headers as in a batch (a
    /// single message is atomic by itself), and waits up to `timeout` for its
    /// acknowledgement (after its fsync).
    pub(crate) async fn publish_prepared(
        &self,
        message: Prepared,
        timeout: Duration,
    ) -> Result<Position, AppendError> {
        let Prepared {
            subject,
            headers,
            body,
        } = message;
        let stored = async {
            let ack = self
                .jetstream()
                .publish_with_headers(subject, headers, body)
                .await?;
            ack.await
        };
        match tokio::time::timeout(timeout, stored).await {
            Ok(Ok(ack)) => Ok(Position {
                stream: ack.stream,
                sequence: ack.sequence,
            }),
            Ok(Err(e)) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
                Err(AppendError::Refused(e.to_string()))
            }
            Ok(Err(e)) => Err(AppendError::Unavailable(Box::new(e))),
            Err(_) => Err(unavailable(format!(
                "no acknowledgement within {timeout:?}; the event may or may not be stored"
            ))),
        }
    }

    /// Sends prepared events as one atomic batch and waits up to `timeout` for its
    /// acknowledgement. `messages` holds 1 to [`MAX_BATCH`] events of one stream.
    pub(crate) async fn commit_batch(
        &self,
        messages: Vec<Prepared>,
        timeout: Duration,
    ) -> Result<BatchAck, AppendError> {
        debug_assert!((1..=MAX_BATCH).contains(&messages.len()));
        match tokio::time::timeout(timeout, self.send_batch(messages)).await {
            Ok(result) => result,
            Err(_) => Err(unavailable(format!(
                "no acknowledgement of the batch within {timeout:?}; it may or may not be stored"
            ))),
        }
    }

    async fn send_batch(&self, messages: Vec<Prepared>) -> Result<BatchAck, AppendError> {
        let client = self.client();
        let count = messages.len();
        let batch_id = uuid::Uuid::now_v7().simple().to_string();
        // Both replies come to one subscription, told apart by their last token. It is
        // subscribed before anything is published (one connection keeps the order).
        let inbox = client.new_inbox();
        let mut replies = client
            .subscribe(format!("{inbox}.*"))
            .await
            .map_err(|e| AppendError::Unavailable(Box::new(e)))?;
        let first_reply = format!("{inbox}.first");
        let commit_reply = format!("{inbox}.commit");
        for (i, message) in messages.into_iter().enumerate() {
            let sequence = i + 1;
            let Prepared {
                subject,
                mut headers,
                body,
            } = message;
            headers.insert("Nats-Batch-Id", batch_id.as_str());
            headers.insert("Nats-Batch-Sequence", sequence.to_string().as_str());
            let sent = if sequence == count {
                headers.insert("Nats-Batch-Commit", "1");
                client
                    .publish_with_reply_and_headers(subject, commit_reply.clone(), headers, body)
                    .await
            } else if sequence == 1 {
                client
                    .publish_with_reply_and_headers(subject, first_reply.clone(), headers, body)
                    .await
            } else {
                client.publish_with_headers(subject, headers, body).await
            };
            // Nothing committed yet: the server abandons the incomplete batch.
            sent.map_err(|e| AppendError::Unavailable(Box::new(e)))?;
        }
        loop {
            let Some(reply) = replies.next().await else {
                return Err(unavailable(
                    "the connection closed before the batch was acknowledged",
                ));
            };
            if reply.status == Some(StatusCode::NO_RESPONDERS) {
                return Err(unavailable(format!(
                    "no stream takes {}: has its stream been created?",
                    reply.subject
                )));
            }
            if reply.subject.as_str() == first_reply {
                // Empty: the batch is open. An error: it never opened, and the commit will
                // only be refused too.
                if reply.payload.is_empty() {
                    continue;
                }
                match serde_json::from_slice::<Response<serde_json::Value>>(&reply.payload) {
                    Ok(Response::Err { error }) => return Err(server_error(error)),
                    _ => continue,
                }
            }
            if reply.subject.as_str() != commit_reply {
                continue;
            }
            let ack = match serde_json::from_slice::<Response<PublishAck>>(&reply.payload) {
                Ok(Response::Ok(ack)) => ack,
                Ok(Response::Err { error }) => return Err(server_error(error)),
                Err(e) => {
                    return Err(unavailable(format!(
                        "unreadable batch acknowledgement: {e}"
                    )));
                }
            };
            if ack.batch_id.as_deref() != Some(batch_id.as_str())
                || ack.batch_size != Some(count as u64)
                || ack.sequence < count as u64
            {
                return Err(unavailable(format!(
                    "the acknowledgement does not match the batch: {ack:?} for batch {batch_id} of {count}"
                )));
            }
            return Ok(BatchAck {
                stream: ack.stream,
                first_sequence: ack.sequence + 1 - count as u64,
                count,
                batch_id,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_ack_names_every_events_position() {
        let ack = BatchAck {
            stream: "T_ACCESS".to_owned(),
            first_sequence: 41,
            count: 3,
            batch_id: "b".to_owned(),
        };
        assert_eq!(ack.last_sequence(), 43);
        let seqs: Vec<u64> = ack.positions().map(|p| p.sequence).collect();
        assert_eq!(seqs, vec![41, 42, 43]);
        assert_eq!(ack.position(2).map(|p| p.sequence), Some(43));
        assert_eq!(ack.position(3), None);
    }

    #[test]
    fn header_size_is_counted_as_on_the_wire() {
        let mut headers = HeaderMap::new();
        headers.insert("A", "bc");
        // "NATS/1.0\r\n" + "A: bc\r\n" + "\r\n"
        assert_eq!(headers_wire_len(&headers), 10 + 7 + 2);
    }
}
