//! Shared pieces of the cross-service scenarios: a deliberately non-idempotent test
//! projection (a tally), so that an event applied twice or lost shows in its counts.

pub mod accounts;
pub mod bench_args;
pub mod care;
pub mod http_load;

use std::sync::Arc;

use chrono::Utc;
use deadpool_postgres::Transaction;
use event_store::{Actor, EventEnvelope, RecordedEvent, Visibility};
use projection_runner::{ApplyError, Migration, Projection};
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

    async fn apply(&self, tx: &Transaction<'_>, event: &RecordedEvent) -> Result<(), ApplyError> {
        let env = &event.envelope;
        let position = event.position.sequence as i64;
        match env.event_type.as_str() {
            "Counted" => {
                tx.execute(
                    &tx.prepare_cached("INSERT INTO tallies VALUES ($1, 1, $2)
                     ON CONFLICT (aggregate_id) DO UPDATE SET applied = tallies.applied + 1, last_position = $2").await?,
                    &[&env.aggregate_id, &position],
                )
                .await?;
            }
            "Noted" => {
                let note = env.payload["note"].as_str().unwrap_or_default();
                tx.execute(
                    &tx.prepare_cached("INSERT INTO notes VALUES ($1, $2)")
                        .await?,
                    &[&position, &note],
                )
                .await?;
            }
            "Poison" => return Err(ApplyError::Poison("this event can never be applied".into())),
            _ => {}
        }
        Ok(())
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
