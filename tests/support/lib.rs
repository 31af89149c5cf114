//! Shared pieces of the cross-service scenarios: a deliberately non-idempotent test
//! projection (a tally), so that an event applied twice or lost shows in its counts.

pub mod accounts;
pub mod bench_args;
pub mod care;
pub mod cpu;
pub mod http_load;
pub mod identity_mix;

use std::sync::Arc;

use chrono::Utc;
use deadpool_postgres::Transaction;
use event_store::{Actor, EventEnvelope, RecordedEvent, Visibility};
use projection_runner::{ApplyError, Migration, Projection, Statements, params};
use uuid::Uuid;

/// The context the tally reads.
pub const TALLY_CONTEXT: &str = "tally";

/// Counts `Counted` events per aggregate; keeps `Noted` notes (under 100 characters, or
/// the database refuses them: a poison event); refuses `Poison` events outright.
#[derive(Debug, Default)]
pub struct Tally;

const MIGRATIONS: &[Migration] = &[Migration {
    version: "0001_tally",
    sql: "CREATE TABLE tallies (aggregate_id text PRIMARY KEY, applied integer NOT NULL, last_position bigint NOT NULL);
          CREATE TABLE notes (position bigint PRIMARY KEY, note text NOT NULL CHECK (length(note) < 100));",
}];

impl Projection for Tally {
    fn name(&self) -> &'static str {
        "tally"
    }

    fn context(&self) -> &'static str {
        TALLY_CONTEXT
    }

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn tables(&self) -> &'static [&'static str] {
        &["tallies", "notes"]
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut out = Statements::new();
        for event in events {
            let env = &event.envelope;
            let position = event.position.sequence as i64;
            match env.event_type.as_str() {
                "Counted" => out.push(
                    "INSERT INTO tallies VALUES ($1, 1, $2)
                     ON CONFLICT (aggregate_id) DO UPDATE SET applied = tallies.applied + 1, last_position = $2",
                    params![env.aggregate_id.clone(), position],
                ),
                "Noted" => {
                    let note = env.payload["note"].as_str().unwrap_or_default();
                    out.push(
                        "INSERT INTO notes VALUES ($1, $2)",
                        params![position, note.to_owned()],
                    )
                }
                "Poison" => {
                    return Err(ApplyError::Poison("this event can never be applied".into()));
                }
                _ => {}
            }
        }
        out.execute(tx).await
    }
}

/// The tally projection, shareable.
pub fn tally() -> Arc<Tally> {
    Arc::new(Tally)
}

/// A new event of `event_type` on aggregate `id` of the tally context.
pub fn event(event_type: &str, id: &str, payload: serde_json::Value) -> EventEnvelope {
    EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        visibility: Visibility::Region,
        municipality: None,
        aggregate_type: "counter".to_owned(),
        aggregate_id: id.to_owned(),
        occurred_at: Utc::now(),
        actor: Actor::system(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        traceparent: None,
        payload,
    }
}

/// Connects the store for a test namespace and creates the tally stream.
pub async fn tally_store(
    nats_url: &str,
    namespace: &str,
) -> anyhow::Result<event_store::JetStreamStore> {
    let client = async_nats::connect(nats_url).await?;
    let store = event_store::JetStreamStore::new(
        client,
        event_store::StoreConfig {
            namespace: namespace.to_owned(),
            ..Default::default()
        },
    )?;
    store.ensure_stream(TALLY_CONTEXT).await?;
    Ok(store)
}

/// A connection pool for a database URL.
pub fn pool(url: &str) -> anyhow::Result<deadpool_postgres::Pool> {
    Ok(projection_runner::connect_pool(url, 8)?)
}

/// Appends `events` to `context`'s stream in order, `window` in flight at a time (no
/// expected version: for streams written straight from a generator); returns the last
/// sequence.
pub async fn append_all(
    store: &event_store::JetStreamStore,
    context: &str,
    events: &[EventEnvelope],
    window: usize,
) -> anyhow::Result<u64> {
    use std::collections::VecDeque;
    let mut pending = VecDeque::with_capacity(window);
    let mut last = 0;
    for event in events {
        if pending.len() >= window.max(1) {
            let p: event_store::PendingAppend = pending.pop_front().expect("not empty");
            last = p.acknowledged().await?.position.sequence;
        }
        pending.push_back(
            store
                .submit(context, event_store::ExpectedVersion::Any, event)
                .await?,
        );
    }
    for p in pending {
        last = p.acknowledged().await?.position.sequence;
    }
    Ok(last)
}
