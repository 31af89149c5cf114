use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use deadpool_postgres::Transaction;
use event_store::{Delivered, JetStreamStore, RecordedEvent};
use futures::StreamExt;
use tracing::{Instrument, info_span};
use uuid::Uuid;

use crate::migrate::{check_schema_name, quoted};
use crate::{Migration, crash_point, migrate};

/// Why one event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// This event can never be applied (unreadable, or its data breaks the read model):
    /// it is parked in the dead letters.
    #[error("poison event: {0}")]
    Poison(String),
    /// The database failed; the batch is retried. Data and constraint errors (SQLSTATE
    /// classes 22 and 23) are treated as poison.
    #[error("database error while applying")]
    Database(#[from] tokio_postgres::Error),
}

impl From<event_store::DecodeError> for ApplyError {
    fn from(e: event_store::DecodeError) -> Self {
        Self::Poison(e.to_string())
    }
}

impl ApplyError {
    fn is_poison(&self) -> bool {
        match self {
            Self::Poison(_) => true,
            Self::Database(e) => e
                .code()
                .is_some_and(|c| c.code().starts_with("22") || c.code().starts_with("23")),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Poison(reason) => reason.clone(),
            Self::Database(e) => match e.as_db_error() {
                Some(db) => format!("{}: {}", db.code().code(), db.message()),
                None => e.to_string(),
            },
        }
    }
}

/// Why a runner stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// Bad settings (schema name…).
    #[error("projection set-up: {0}")]
    Setup(String),
    /// Postgres failed.
    #[error("postgres")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection could be had from the pool.
    #[error("postgres pool")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The event store failed.
    #[error("event store")]
    Store(#[from] event_store::StoreError),
    /// Waiting for a position took too long.
    #[error("projection {schema} has not reached sequence {wanted} (at {reached})")]
    Lagging {
        /// The projection.
        schema: String,
        /// The sequence waited for.
        wanted: u64,
        /// Where it is.
        reached: u64,
    },
}

/// A read model built from one context's events.
///
/// `apply` is a `match` over the events it cares about with one SQL statement per arm,
/// run inside the runner's transaction (with the projection's schema on the search path).
/// Use `tx.prepare_cached(SQL)` for its statements: a replay runs each one thousands of
/// times, and a cached statement saves a round trip per event.
/// Events it does not care about fall through as `Ok(())`. It sends nothing and calls
/// nothing outside that transaction.
pub trait Projection: Send + Sync + 'static {
    /// The projection's name, which is also its default Postgres schema.
    fn name(&self) -> &'static str;
    /// The context whose stream it reads (all of it, so its checkpoint tracks the stream
    /// and read-your-writes can compare positions directly).
    fn context(&self) -> &'static str;
    /// Its tables' history.
    fn migrations(&self) -> &'static [Migration];
    /// Its tables, compared by [`table_digests`] when checking a rebuild.
    fn tables(&self) -> &'static [&'static str];
    /// Applies one event.
    fn apply(
        &self,
        tx: &Transaction<'_>,
        event: &RecordedEvent,
    ) -> impl Future<Output = Result<(), ApplyError>> + Send;
    /// Applies fresh events in stream order, in one transaction; what it does must equal
    /// applying them one by one. The default does exactly that. A projection whose events
    /// share work (the audit chain: one head, one multi-row insert) may do it at once. A
    /// poison error sends the runner back through the events one by one with [`Self::apply`].
    fn apply_batch(
        &self,
        tx: &Transaction<'_>,
        events: &[RecordedEvent],
    ) -> impl Future<Output = Result<(), ApplyError>> + Send {
        async move {
            for event in events {
                self.apply(tx, event).await?;
            }
            Ok(())
        }
    }
}

/// What one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    /// The checkpoint after the batch.
    pub checkpoint: u64,
    /// Events applied.
    pub applied: u64,
    /// Events skipped because their id was already applied.
    pub duplicates: u64,
    /// Events parked in the dead letters.
    pub parked: u64,
}

enum Step {
    Done(BatchOutcome),
    /// Someone else moved the checkpoint (a replica, or a rebuilt schema swapped in):
    /// read again from there.
    Moved(u64),
    /// A poison event broke the fast path: redo the batch event by event.
    Careful,
}

/// Told after each batch of a catch-up read: the totals so far and what is still pending.
type Progress<'a> = dyn Fn(&BatchOutcome, u64) + Sync + 'a;

/// Feeds a [`Projection`] from its stream, one transaction per batch.
pub struct ProjectionRunner<P: Projection> {
    projection: Arc<P>,
    pool: Pool,
    store: JetStreamStore,
    schema: String,
    batch_size: usize,
}

impl<P: Projection> ProjectionRunner<P> {
    /// A runner for `projection` in its own schema.
    pub fn new(projection: Arc<P>, pool: Pool, store: JetStreamStore) -> Self {
        let schema = projection.name().to_owned();
        Self {
            projection,
            pool,
            store,
            schema,
            batch_size: 500,
        }
    }

    /// Builds into another schema (used by rebuilds).
    pub fn in_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Sets the largest batch per transaction.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// The schema it writes.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn stream(&self) -> String {
        self.store.stream_name(self.projection.context())
    }

    /// Creates the schema and applies pending migrations.
    pub async fn migrate(&self) -> Result<(), RunnerError> {
        migrate(
            &self.pool,
            &self.schema,
            &self.stream(),
            self.projection.migrations(),
        )
        .await
    }

    /// Follows the stream until `stop` resolves, restarting after failures with backoff.
    pub async fn run(&self, stop: impl Future<Output = ()>) -> Result<(), RunnerError> {
        tokio::pin!(stop);
        let mut backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                () = &mut stop => return Ok(()),
                result = self.follow(None) => match result {
                    Ok(_) => return Ok(()),
                    Err(e) => {
                        tracing::error!(projection = %self.schema, error = %e, source = ?std::error::Error::source(&e), "projection runner failed; restarting");
                        tokio::select! {
                            () = &mut stop => return Ok(()),
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
    }

    /// Reads from the checkpoint on. With `idle`, returns once caught up (the server has
    /// nothing pending, or nothing arrives within `idle`); otherwise follows forever.
    async fn follow(
        &self,
        idle: Option<(Duration, &Progress<'_>)>,
    ) -> Result<BatchOutcome, RunnerError> {
        let mut total = BatchOutcome::default();
        'subscribe: loop {
            let mut expected = checkpoint(&self.pool, &self.schema).await?;
            total.checkpoint = expected;
            let sub = self
                .store
                .subscribe(self.projection.context(), Vec::new(), expected + 1)
                .await?;
            let mut chunks = sub.ready_chunks(self.batch_size);
            loop {
                let next = match idle {
                    Some((wait, _)) => match tokio::time::timeout(wait, chunks.next()).await {
                        Ok(next) => next,
                        Err(_) => return Ok(total),
                    },
                    None => chunks.next().await,
                };
                let Some(chunk) = next else {
                    return Ok(total);
                };
                let batch = chunk.into_iter().collect::<Result<Vec<_>, _>>()?;
                let Some(last) = batch.last() else { continue };
                let caught_up = last.pending == 0;
                let span = info_span!("projection.batch", projection = %self.schema, events = batch.len(), last = last.position.sequence);
                if let Some(first) = batch.first().and_then(|d| d.envelope.as_ref().ok()) {
                    telemetry::continue_traceparent(first.traceparent.as_deref(), &span);
                }
                let outcome = self.apply_batch(&batch, expected).instrument(span).await?;
                match outcome {
                    Some(o) => {
                        expected = o.checkpoint;
                        total.checkpoint = o.checkpoint;
                        total.applied += o.applied;
                        total.duplicates += o.duplicates;
                        total.parked += o.parked;
                        if let Some((_, progress)) = idle {
                            progress(&total, last.pending);
                            if caught_up {
                                return Ok(total);
                            }
                        }
                    }
                    None => continue 'subscribe,
                }
            }
        }
    }

    /// Applies a batch; `None` when the checkpoint moved under us.
    async fn apply_batch(
        &self,
        batch: &[Delivered],
        expected: u64,
    ) -> Result<Option<BatchOutcome>, RunnerError> {
        let mut step = self.try_batch(batch, expected, false).await?;
        if matches!(step, Step::Careful) {
            step = self.try_batch(batch, expected, true).await?;
        }
        match step {
            Step::Done(o) => Ok(Some(o)),
            Step::Moved(at) => {
                tracing::info!(projection = %self.schema, expected, at, "checkpoint moved by another runner; resubscribing");
                Ok(None)
            }
            Step::Careful => unreachable!("the careful pass never asks for another pass"),
        }
    }

    async fn try_batch(
        &self,
        batch: &[Delivered],
        expected: u64,
        careful: bool,
    ) -> Result<Step, RunnerError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.batch_execute(&format!(
            "SET LOCAL search_path TO {}",
            quoted(&self.schema)
        ))
        .await?;
        let at: i64 = tx
            .query_one("SELECT position FROM _checkpoint FOR UPDATE", &[])
            .await?
            .get(0);
        if at as u64 != expected {
            return Ok(Step::Moved(at as u64));
        }
        let mut outcome = BatchOutcome {
            checkpoint: expected,
            ..Default::default()
        };
        let fresh: HashSet<Uuid> = if careful {
            HashSet::new()
        } else {
            let (ids, positions): (Vec<Uuid>, Vec<i64>) = batch
                .iter()
                .filter_map(|d| {
                    d.envelope
                        .as_ref()
                        .ok()
                        .map(|e| (e.event_id, d.position.sequence as i64))
                })
                .unzip();
            tx.query(
                "INSERT INTO _processed (event_id, position)
                 SELECT * FROM unnest($1::uuid[], $2::bigint[])
                 ON CONFLICT DO NOTHING RETURNING event_id",
                &[&ids, &positions],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
        };
        let mut applied_here: HashSet<Uuid> = HashSet::new();
        let mut fresh_events: Vec<RecordedEvent> = Vec::new();
        for d in batch {
            let seq = d.position.sequence;
            let envelope = match &d.envelope {
                Ok(e) => e,
                Err(e) => {
                    park(&tx, d, None, None, &format!("unreadable envelope: {e}")).await?;
                    outcome.parked += 1;
                    continue;
                }
            };
            let event = RecordedEvent {
                position: d.position.clone(),
                envelope: envelope.clone(),
            };
            if careful {
                tx.batch_execute("SAVEPOINT event").await?;
                let inserted = tx
                    .execute(
                        "INSERT INTO _processed (event_id, position) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[&envelope.event_id, &(seq as i64)],
                    )
                    .await?;
                if inserted == 0 {
                    outcome.duplicates += 1;
                    tx.batch_execute("RELEASE SAVEPOINT event").await?;
                    continue;
                }
                match self.projection.apply(&tx, &event).await {
                    Ok(()) => {
                        outcome.applied += 1;
                        tx.batch_execute("RELEASE SAVEPOINT event").await?;
                    }
                    Err(e) if e.is_poison() => {
                        tx.batch_execute("ROLLBACK TO SAVEPOINT event").await?;
                        park(
                            &tx,
                            d,
                            Some(envelope.event_id),
                            Some(&envelope.event_type),
                            &e.describe(),
                        )
                        .await?;
                        outcome.parked += 1;
                    }
                    Err(ApplyError::Database(e)) => return Err(e.into()),
                    Err(ApplyError::Poison(_)) => unreachable!("poison is handled above"),
                }
            } else {
                if !fresh.contains(&envelope.event_id) || !applied_here.insert(envelope.event_id) {
                    outcome.duplicates += 1;
                    continue;
                }
                fresh_events.push(event);
            }
        }
        if !fresh_events.is_empty() {
            match self.projection.apply_batch(&tx, &fresh_events).await {
                Ok(()) => outcome.applied += fresh_events.len() as u64,
                Err(e) if e.is_poison() => return Ok(Step::Careful),
                Err(ApplyError::Database(e)) => return Err(e.into()),
                Err(ApplyError::Poison(_)) => unreachable!("poison is handled above"),
            }
        }
        let last = batch.last().map_or(expected, |d| d.position.sequence);
        tx.execute(
            "UPDATE _checkpoint SET position = $1, updated_at = now()",
            &[&(last as i64)],
        )
        .await?;
        tx.commit().await?;
        // The window in which a consumer that relies on server acks would lose track:
        // committed here, not yet acknowledged there. Ours resumes from the checkpoint.
        crash_point("projection.after_commit_before_ack");
        outcome.checkpoint = last;
        if outcome.parked > 0 {
            tracing::error!(projection = %self.schema, parked = outcome.parked, checkpoint = last, "events parked in dead letters");
        }
        Ok(Step::Done(outcome))
    }
}

async fn park(
    tx: &Transaction<'_>,
    d: &Delivered,
    event_id: Option<Uuid>,
    event_type: Option<&str>,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    let stored = match &d.envelope {
        Ok(e) => serde_json::to_string(e).unwrap_or_default(),
        Err(_) => String::new(),
    };
    tracing::error!(position = %d.position, event_type, error, "poison event parked");
    tx.execute(
        "INSERT INTO _dead_letters (position, event_id, event_type, error, stored)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (position) DO NOTHING",
        &[
            &(d.position.sequence as i64),
            &event_id,
            &event_type,
            &error,
            &stored,
        ],
    )
    .await?;
    Ok(())
}

/// The sequence a projection schema has applied up to.
pub async fn checkpoint(pool: &Pool, schema: &str) -> Result<u64, RunnerError> {
    check_schema_name(schema)?;
    let client = pool.get().await?;
    let row = client
        .query_one(
            &format!("SELECT position FROM {}._checkpoint", quoted(schema)),
            &[],
        )
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Parked events of a projection: (position, event type, error).
pub async fn dead_letters(
    pool: &Pool,
    schema: &str,
) -> Result<Vec<(u64, Option<String>, String)>, RunnerError> {
    check_schema_name(schema)?;
    let client = pool.get().await?;
    let rows = client
        .query(
            &format!(
                "SELECT position, event_type, error FROM {}._dead_letters ORDER BY position",
                quoted(schema)
            ),
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, i64>(0) as u64, r.get(1), r.get(2)))
        .collect())
}

/// Waits until a projection has applied `sequence` (read-your-writes), up to `timeout`.
pub async fn wait_for_position(
    pool: &Pool,
    schema: &str,
    sequence: u64,
    timeout: Duration,
) -> Result<u64, RunnerError> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        let reached = checkpoint(pool, schema).await?;
        if reached >= sequence {
            return Ok(reached);
        }
        if Instant::now() >= deadline {
            return Err(RunnerError::Lagging {
                schema: schema.to_owned(),
                wanted: sequence,
                reached,
            });
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// The schema rebuilt into.
    pub schema: String,
    /// Counts and the final checkpoint.
    pub outcome: BatchOutcome,
    /// How long it took.
    pub elapsed: Duration,
}

/// Replays `projection`'s stream from sequence 0 into the fresh schema `target` (dropped
/// first if it exists) until caught up, logging progress, and reports the counts.
pub async fn rebuild<P: Projection>(
    projection: Arc<P>,
    pool: Pool,
    store: JetStreamStore,
    target: &str,
) -> Result<RebuildReport, RunnerError> {
    check_schema_name(target)?;
    if target == projection.name() {
        return Err(RunnerError::Setup(
            "rebuild into a fresh schema, then swap it in".to_owned(),
        ));
    }
    {
        let client = pool.get().await?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quoted(target)))
            .await?;
    }
    let runner = ProjectionRunner::new(projection, pool, store).in_schema(target);
    runner.migrate().await?;
    let started = Instant::now();
    let last_log = std::sync::Mutex::new(Instant::now());
    let progress = |o: &BatchOutcome, pending: u64| {
        let mut last = last_log.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= Duration::from_secs(1) || pending == 0 {
            *last = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            tracing::info!(
                schema = target,
                checkpoint = o.checkpoint,
                applied = o.applied,
                pending,
                events_per_s = (o.applied as f64 / secs) as u64,
                "rebuild progress"
            );
        }
    };
    let outcome = runner
        .follow(Some((Duration::from_secs(2), &progress)))
        .await?;
    let report = RebuildReport {
        schema: target.to_owned(),
        outcome,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        schema = target,
        applied = outcome.applied,
        duplicates = outcome.duplicates,
        parked = outcome.parked,
        checkpoint = outcome.checkpoint,
        elapsed_ms = report.elapsed.as_millis() as u64,
        "rebuild finished"
    );
    Ok(report)
}

/// Puts a rebuilt schema in place of the live one, atomically. A live runner notices its
/// checkpoint moved and carries on from the rebuilt one.
pub async fn swap_in(pool: &Pool, live: &str, rebuilt: &str) -> Result<(), RunnerError> {
    check_schema_name(live)?;
    check_schema_name(rebuilt)?;
    let retired = format!("{live}__retired");
    check_schema_name(&retired)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {r} CASCADE;
         ALTER SCHEMA {l} RENAME TO {r};
         ALTER SCHEMA {b} RENAME TO {l};
         DROP SCHEMA {r} CASCADE;",
        r = quoted(&retired),
        l = quoted(live),
        b = quoted(rebuilt)
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Row count and content digest of each table, for comparing a rebuild with the live
/// projection: equal digests mean equal contents.
pub async fn table_digests(
    pool: &Pool,
    schema: &str,
    tables: &[&str],
) -> Result<Vec<(String, i64, String)>, RunnerError> {
    check_schema_name(schema)?;
    let client = pool.get().await?;
    let mut out = Vec::new();
    for table in tables {
        check_schema_name(table)?;
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '')
                     FROM {}.{} t",
                    quoted(schema),
                    quoted(table)
                ),
                &[],
            )
            .await?;
        out.push(((*table).to_owned(), row.get(0), row.get(1)));
    }
    Ok(out)
}
