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
/// `apply` is handed the fresh events of one batch, in stream order, inside the runner's
/// transaction (with the projection's schema on the search path). It is the only way a
/// projection applies anything: the live runner hands it whatever has arrived (often one
/// event), a rebuild hundreds at a time, and a batch holding a poison event is handed to it
/// again one event at a time, so what it writes for a batch must equal what it writes for
/// those events one by one. The usual shape is a `match` over each event with one
/// statement per arm pushed into [`crate::Statements`], sent together at the end (see
/// `Tally` in the tests, or identity's register). Events it does not care about push
/// nothing. It sends nothing and calls nothing outside that transaction.
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
    /// Applies fresh events (never applied before, in stream order) in one transaction.
    fn apply(
        &self,
        tx: &Transaction<'_>,
        events: &[RecordedEvent],
    ) -> impl Future<Output = Result<(), ApplyError>> + Send;
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
    /// Transactions committed (one per batch).
    pub batches: u64,
}

enum Step {
    Done(BatchOutcome),
    /// Someone else moved the checkpoint (a replica, or a rebuilt schema swapped in):
    /// read again from there.
    Moved(u64),
    /// A poison event broke the fast path: redo the batch event by event.
    Careful,
}

/// One batch as read from the stream: the events whose envelope could be read, in stream
/// order, and the deliveries that could not (parked).
struct Batch {
    events: Vec<RecordedEvent>,
    unreadable: Vec<Delivered>,
    /// The sequence of the batch's last delivery.
    last: u64,
}

impl Batch {
    fn of(deliveries: Vec<Delivered>) -> Self {
        let last = deliveries.last().map_or(0, |d| d.position.sequence);
        let mut events = Vec::with_capacity(deliveries.len());
        let mut unreadable = Vec::new();
        for d in deliveries {
            match d.envelope {
                Ok(envelope) => events.push(RecordedEvent {
                    position: d.position,
                    envelope,
                }),
                Err(_) => unreadable.push(d),
            }
        }
        Self {
            events,
            unreadable,
            last,
        }
    }

    fn len(&self) -> usize {
        self.events.len() + self.unreadable.len()
    }
}

/// Progress of a catch-up (a rebuild, or a live runner far behind), logged at most once a
/// second with the rate and the time left.
struct Progress<'a> {
    schema: &'a str,
    what: &'static str,
    started: Instant,
    applied_at_start: u64,
    last_log: Instant,
}

impl<'a> Progress<'a> {
    fn new(schema: &'a str, what: &'static str, applied_at_start: u64) -> Self {
        let now = Instant::now();
        Self {
            schema,
            what,
            started: now,
            applied_at_start,
            last_log: now,
        }
    }

    /// After a batch: `total` so far and `pending` still on the server.
    fn batch_done(&mut self, total: &BatchOutcome, pending: u64) {
        if self.last_log.elapsed() < Duration::from_secs(1) && pending > 0 {
            return;
        }
        self.last_log = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let done = total.applied + total.duplicates + total.parked - self.applied_at_start;
        let rate = done as f64 / secs;
        let left = if rate > 0.0 {
            pending as f64 / rate
        } else {
            0.0
        };
        tracing::info!(
            projection = self.schema,
            checkpoint = total.checkpoint,
            applied = total.applied,
            pending,
            events_per_s = rate as u64,
            seconds_left = (left * 10.0).round() / 10.0,
            "{}",
            self.what
        );
    }
}

/// A batch: `first` and what follows it, up to `max` deliveries. Takes what has arrived
/// without waiting; while the server says more is pending (a catch-up), waits for it too
/// (it is on its way), so a replay applies full batches rather than whatever one network
/// read brought. Live and caught up, that is one event at a time, at once.
async fn gather(
    sub: &mut event_store::Subscription,
    first: Delivered,
    max: usize,
) -> Result<Vec<Delivered>, RunnerError> {
    use futures::FutureExt;
    let mut batch = vec![first];
    while batch.len() < max {
        let next = match sub.next().now_or_never() {
            Some(next) => next,
            None if batch.last().is_some_and(|d| d.pending > 0) => {
                match tokio::time::timeout(Duration::from_millis(50), sub.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                }
            }
            None => break,
        };
        match next {
            Some(delivered) => batch.push(delivered?),
            None => break,
        }
    }
    Ok(batch)
}

/// A live runner this far behind logs its catch-up like a rebuild.
const CATCH_UP_LOG_FROM: u64 = 5_000;

/// Feeds a [`Projection`] from its stream, one transaction per batch.
pub struct ProjectionRunner<P: Projection> {
    projection: Arc<P>,
    pool: Pool,
    store: JetStreamStore,
    schema: String,
    batch_size: usize,
}

impl<P: Projection> ProjectionRunner<P> {
    /// A runner for `projection` in its own schema, applying up to 1,000 events per
    /// transaction (whatever has arrived, never waiting for more).
    pub fn new(projection: Arc<P>, pool: Pool, store: JetStreamStore) -> Self {
        let schema = projection.name().to_owned();
        Self {
            projection,
            pool,
            store,
            schema,
            batch_size: 1_000,
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
    /// nothing pending, or nothing arrives within `idle`) and logs progress as a rebuild;
    /// otherwise follows forever, logging progress while far behind.
    async fn follow(&self, idle: Option<Duration>) -> Result<BatchOutcome, RunnerError> {
        let mut total = BatchOutcome::default();
        let mut progress = idle.map(|_| Progress::new(&self.schema, "rebuild progress", 0));
        'subscribe: loop {
            let mut expected = checkpoint(&self.pool, &self.schema).await?;
            total.checkpoint = expected;
            let sub = self
                .store
                .subscribe(self.projection.context(), Vec::new(), expected + 1)
                .await?;
            let mut sub = sub;
            loop {
                let first = match idle {
                    Some(wait) => match tokio::time::timeout(wait, sub.next()).await {
                        Ok(next) => next,
                        Err(_) => return Ok(total),
                    },
                    None => sub.next().await,
                };
                let Some(first) = first else {
                    return Ok(total);
                };
                let deliveries = gather(&mut sub, first?, self.batch_size).await?;
                let Some(pending) = deliveries.last().map(|d| d.pending) else {
                    continue;
                };
                let batch = Batch::of(deliveries);
                let span = info_span!("projection.batch", projection = %self.schema, events = batch.len(), last = batch.last);
                if let Some(first) = batch.events.first() {
                    telemetry::continue_traceparent(first.envelope.traceparent.as_deref(), &span);
                }
                let Some(o) = self.apply_batch(&batch, expected).instrument(span).await? else {
                    continue 'subscribe;
                };
                expected = o.checkpoint;
                total.checkpoint = o.checkpoint;
                total.applied += o.applied;
                total.duplicates += o.duplicates;
                total.parked += o.parked;
                total.batches += 1;
                if progress.is_none() && pending >= CATCH_UP_LOG_FROM {
                    let done = total.applied + total.duplicates + total.parked;
                    progress = Some(Progress::new(&self.schema, "catching up", done));
                }
                if let Some(p) = &mut progress {
                    p.batch_done(&total, pending);
                }
                if pending == 0 {
                    if idle.is_some() {
                        return Ok(total);
                    }
                    progress = None;
                }
            }
        }
    }

    /// Applies a batch; `None` when the checkpoint moved under us.
    async fn apply_batch(
        &self,
        batch: &Batch,
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

    /// One transaction: the checkpoint checked, the fresh events found (by id), applied,
    /// the checkpoint moved. `careful` applies them one at a time, each in a savepoint, so
    /// that a poison event is parked alone and the others are applied.
    async fn try_batch(
        &self,
        batch: &Batch,
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
            batches: 1,
            ..Default::default()
        };
        for d in &batch.unreadable {
            let why = match &d.envelope {
                Err(e) => format!("unreadable envelope: {e}"),
                Ok(_) => "unreadable envelope".to_owned(),
            };
            park(&tx, d.position.sequence, None, None, "", &why).await?;
            outcome.parked += 1;
        }
        if careful {
            for event in &batch.events {
                self.apply_carefully(&tx, event, &mut outcome).await?;
            }
        } else {
            let (ids, positions): (Vec<Uuid>, Vec<i64>) = batch
                .events
                .iter()
                .map(|e| (e.envelope.event_id, e.position.sequence as i64))
                .unzip();
            let fresh: HashSet<Uuid> = tx
                .query(
                    "INSERT INTO _processed (event_id, position)
                     SELECT * FROM unnest($1::uuid[], $2::bigint[])
                     ON CONFLICT DO NOTHING RETURNING event_id",
                    &[&ids, &positions],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            // Usually every event is fresh and the batch is applied as it came; an event
            // stored twice (a retried atomic batch) is left out, keeping its first copy.
            let repeated;
            let events: &[RecordedEvent] = if fresh.len() == batch.events.len() {
                &batch.events
            } else {
                let mut seen = HashSet::new();
                repeated = batch
                    .events
                    .iter()
                    .filter(|e| {
                        fresh.contains(&e.envelope.event_id) && seen.insert(e.envelope.event_id)
                    })
                    .cloned()
                    .collect::<Vec<_>>();
                &repeated
            };
            outcome.duplicates += (batch.events.len() - events.len()) as u64;
            if !events.is_empty() {
                match self.projection.apply(&tx, events).await {
                    Ok(()) => outcome.applied += events.len() as u64,
                    Err(e) if e.is_poison() => return Ok(Step::Careful),
                    Err(ApplyError::Database(e)) => return Err(e.into()),
                    Err(ApplyError::Poison(_)) => unreachable!("poison is handled above"),
                }
            }
        }
        let last = batch.last.max(expected);
        tx.execute(
            "UPDATE _checkpoint SET position = $1, updated_at = now()",
            &[&(last as i64)],
        )
        .await?;
        // Everything of the batch is written but nothing committed: a crash here must
        // leave the projection as if the batch had never begun.
        crash_point("projection.before_commit");
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

    /// One event in its own savepoint: applied, skipped (already applied) or parked.
    async fn apply_carefully(
        &self,
        tx: &Transaction<'_>,
        event: &RecordedEvent,
        outcome: &mut BatchOutcome,
    ) -> Result<(), RunnerError> {
        let envelope = &event.envelope;
        let seq = event.position.sequence;
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
            return Ok(());
        }
        match self.projection.apply(tx, std::slice::from_ref(event)).await {
            Ok(()) => {
                outcome.applied += 1;
                tx.batch_execute("RELEASE SAVEPOINT event").await?;
            }
            Err(e) if e.is_poison() => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT event").await?;
                let stored = serde_json::to_string(envelope).unwrap_or_default();
                park(
                    tx,
                    seq,
                    Some(envelope.event_id),
                    Some(&envelope.event_type),
                    &stored,
                    &e.describe(),
                )
                .await?;
                outcome.parked += 1;
            }
            Err(ApplyError::Database(e)) => return Err(e.into()),
            Err(ApplyError::Poison(_)) => unreachable!("poison is handled above"),
        }
        Ok(())
    }
}

async fn park(
    tx: &Transaction<'_>,
    position: u64,
    event_id: Option<Uuid>,
    event_type: Option<&str>,
    stored: &str,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    tracing::error!(position, event_type, error, "poison event parked");
    tx.execute(
        "INSERT INTO _dead_letters (position, event_id, event_type, error, stored)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (position) DO NOTHING",
        &[&(position as i64), &event_id, &event_type, &error, &stored],
    )
    .await?;
    Ok(())
}

/// The sequence a projection schema has applied up to.
pub async fn checkpoint(pool: &Pool, schema: &str) -> Result<u64, RunnerError> {
    check_schema_name(schema)?;
    let client = pool.get().await?;
    // Prepared once per connection: read-your-writes asks this on every read.
    let statement = client
        .prepare_cached(&format!(
            "SELECT position FROM {}._checkpoint",
            quoted(schema)
        ))
        .await?;
    let row = client.query_one(&statement, &[]).await?;
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
    ProjectionRunner::new(projection, pool, store)
        .in_schema(target)
        .rebuild()
        .await
}

impl<P: Projection> ProjectionRunner<P> {
    /// Replays the stream from sequence 0 into this runner's schema (dropped first if it
    /// exists; never the projection's live one) until caught up, in batches of at most its
    /// batch size, logging progress, and reports the counts.
    pub async fn rebuild(&self) -> Result<RebuildReport, RunnerError> {
        let target = self.schema.as_str();
        check_schema_name(target)?;
        if target == self.projection.name() {
            return Err(RunnerError::Setup(
                "rebuild into a fresh schema, then swap it in".to_owned(),
            ));
        }
        {
            let client = self.pool.get().await?;
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quoted(target)))
                .await?;
        }
        self.migrate().await?;
        let started = Instant::now();
        let outcome = self.follow(Some(Duration::from_secs(2))).await?;
        let report = RebuildReport {
            schema: target.to_owned(),
            outcome,
            elapsed: started.elapsed(),
        };
        tracing::info!(
            projection = target,
            applied = outcome.applied,
            duplicates = outcome.duplicates,
            parked = outcome.parked,
            checkpoint = outcome.checkpoint,
            elapsed_ms = report.elapsed.as_millis() as u64,
            events_per_s = (outcome.applied as f64 / report.elapsed.as_secs_f64().max(1e-3)) as u64,
            "rebuild finished"
        );
        Ok(report)
    }
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
