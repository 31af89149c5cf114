//! The collector: copies every audited event of the other contexts (access records,
//! security events of identity & consent, posts of team messaging) into the audit stream,
//! whose order the chain follows.
//!
//! It keeps its position per source stream in Postgres (`audit_collector.sources`) and
//! advances it only after the copies are durable, so nothing is ever skipped. A crash
//! between the two copies a batch twice: the copies carry ids derived from the source
//! event's id, so the chain applies each once (and a source event stored twice, as a
//! retried atomic batch can be, is chained once too).

use crate::AuditError;
use std::time::Duration;

use audit_api::{AuditEvent, SourcePosition};
use deadpool_postgres::Pool;
use event_store::{Actor, EventContract, EventEnvelope, JetStreamStore, MAX_BATCH, Visibility};
use futures::StreamExt;
use projection_runner::Migration;
use uuid::Uuid;

use crate::records;

/// The schema holding the positions.
pub const SCHEMA: &str = "audit_collector";

const MIGRATIONS: &[Migration] = &[Migration {
    version: "0001_sources",
    sql: include_str!("../migrations/collector_0001.sql"),
}];

/// The contexts whose events are collected.
pub const SOURCES: &[&str] = &[access_log::CONTEXT, "identity", "messaging"];

/// Ids of copies: a name-based UUID of the source event's id, the same every time.
const COPY_NAMESPACE: Uuid = Uuid::from_u128(0x8f0e_5b8a_3c1d_4e2f_9a7b_6c5d_4e3f_2a1b);

/// The id of the copy of `event_id`.
pub fn copy_id(event_id: Uuid) -> Uuid {
    Uuid::new_v5(&COPY_NAMESPACE, event_id.as_bytes())
}

/// The copy of one source event, as appended to the audit stream.
pub fn copy_of(context: &str, source: SourcePosition, event: &EventEnvelope) -> EventEnvelope {
    let collected = AuditEvent::Collected {
        source,
        event: event.clone(),
    };
    EventEnvelope {
        event_id: copy_id(event.event_id),
        event_type: collected.event_type().to_owned(),
        schema_version: 1,
        visibility: Visibility::Patient,
        municipality: event.municipality.clone(),
        aggregate_type: audit_api::aggregates::COLLECTED.to_owned(),
        aggregate_id: context.to_owned(),
        occurred_at: event.occurred_at,
        actor: Actor("service:audit".to_owned()),
        correlation_id: event.correlation_id,
        causation_id: Some(event.event_id),
        traceparent: event.traceparent.clone(),
        payload: collected.to_payload(),
    }
}

/// Copies source streams into the audit stream.
#[derive(Clone)]
pub struct Collector {
    pub store: JetStreamStore,
    pub pool: Pool,
}

impl Collector {
    /// Creates the schema.
    pub async fn migrate(pool: &Pool) -> Result<(), AuditError> {
        projection_runner::migrate_schema(pool, SCHEMA, MIGRATIONS).await?;
        Ok(())
    }

    async fn position(&self, stream: &str) -> Result<u64, AuditError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT position FROM audit_collector.sources WHERE stream = $1",
                &[&stream],
            )
            .await?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64).unwrap_or(0))
    }

    async fn advance(&self, stream: &str, position: u64) -> Result<(), AuditError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO audit_collector.sources (stream, position) VALUES ($1, $2)
                 ON CONFLICT (stream) DO UPDATE SET position = EXCLUDED.position",
                &[&stream, &(position as i64)],
            )
            .await?;
        Ok(())
    }

    /// Follows every source until `stop` is set, restarting a source after failures.
    pub async fn run(&self, stop: tokio::sync::watch::Receiver<bool>) {
        let tasks = SOURCES.iter().map(|context| {
            let this = self.clone();
            let mut stop = stop.clone();
            async move {
                let mut backoff = Duration::from_millis(200);
                loop {
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => return,
                        result = this.follow(context) => {
                            if let Err(e) = result {
                                tracing::error!(source = context, error = format!("{e:#}"), "collector failed; restarting");
                            }
                        }
                    }
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        });
        futures::future::join_all(tasks).await;
    }

    async fn follow(&self, context: &str) -> Result<(), AuditError> {
        self.store.ensure_stream(context).await?;
        let stream = self.store.stream_name(context);
        let from = self.position(&stream).await? + 1;
        let subscription = self.store.subscribe(context, Vec::new(), from).await?;
        let mut chunks = subscription.ready_chunks(MAX_BATCH.min(500));
        while let Some(chunk) = chunks.next().await {
            let mut last = None;
            let mut copies = Vec::new();
            for delivered in chunk {
                let delivered = delivered?;
                last = Some(delivered.position.sequence);
                match &delivered.envelope {
                    Ok(event) if records::is_audited(event) => copies.push(copy_of(
                        context,
                        SourcePosition {
                            stream: delivered.position.stream.clone(),
                            sequence: delivered.position.sequence,
                        },
                        event,
                    )),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(position = %delivered.position, error = %e, "unreadable event not collected")
                    }
                }
            }
            if !copies.is_empty() {
                let count = copies.len();
                self.store.append_batch(audit_api::CONTEXT, copies).await?;
                tracing::debug!(source = context, events = count, "collected");
            }
            if let Some(last) = last {
                self.advance(&stream, last).await?;
            }
        }
        Ok(())
    }
}
