//! Projections: Postgres read models built from event streams, exactly once.
//!
//! A [`Projection`] owns one Postgres schema (named after it) holding its tables, its
//! checkpoint, the ids of the events it applied and its dead letters. The
//! [`ProjectionRunner`] feeds it events of one context's stream:
//!
//! - each batch is applied in **one transaction together with the checkpoint**, so after a
//!   crash at any point the projection is exactly at its checkpoint;
//! - a batch is whatever has arrived (up to 1,000 events), handed to
//!   [`Projection::apply`] at once: live and in a rebuild alike, so a replay gives the same
//!   rows as the live run. Projections that write one statement per event send them
//!   together ([`Statements`], pipelined), so a batch costs about one round trip;
//! - on start it reads from **its own checkpoint + 1** through an ordered consumer (no
//!   server-side acks to trust), so a late redelivery can never be skipped;
//! - events are **de-duplicated by event id** (an atomic batch retried after a lost
//!   acknowledgement can be stored twice);
//! - an event that cannot be applied is **parked** in `_dead_letters` and reported, never
//!   silently skipped;
//! - concurrent runners of the same projection (replicas) are safe: the checkpoint row is
//!   locked and re-checked in every transaction.
//!
//! [`rebuild`] replays a stream from sequence 0 into fresh tables, logging events/s and the
//! time left (a live runner far behind logs its catch-up the same way), and
//! [`table_digests`] compares two copies.
//!
//! Projections send nothing and call nothing: side effects live in reactors.

mod migrate;
mod runner;
mod statements;

pub use migrate::{Migration, migrate, migrate_schema};
pub use runner::{
    ApplyError, BatchOutcome, Projection, ProjectionRunner, RebuildReport, RunnerError, checkpoint,
    dead_letters, rebuild, swap_in, table_digests, wait_for_position,
};
pub use statements::{Param, Statements};

/// Names a crash point for tests: when `TSUNAGU_CRASH_POINT` is `<name>:<n>`, the process
/// aborts the `n`th time it passes that point (n from 1); with `<name>:<n>:hold` it logs
/// `crash point reached; holding` and stops there (that thread, for good), so that a test
/// can SIGKILL it at exactly that point. Used to prove that a crash between two steps
/// loses and duplicates nothing.
pub fn crash_point(name: &str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SETTING: OnceLock<Option<(String, u64, bool)>> = OnceLock::new();
    static PASSES: AtomicU64 = AtomicU64::new(0);
    let setting = SETTING.get_or_init(|| {
        let value = std::env::var("TSUNAGU_CRASH_POINT").ok()?;
        let (value, hold) = match value.strip_suffix(":hold") {
            Some(rest) => (rest.to_owned(), true),
            None => (value, false),
        };
        let (point, n) = value.rsplit_once(':')?;
        Some((point.to_owned(), n.parse().ok()?, hold))
    });
    if let Some((point, n, hold)) = setting
        && point == name
        && PASSES.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        if *hold {
            tracing::warn!(point = name, "crash point reached; holding");
            loop {
                std::thread::park();
            }
        }
        tracing::warn!(point = name, "crash point reached; aborting");
        std::process::abort();
    }
}

/// A connection pool for a service's own database (`postgres://user:password@host:port/db`).
pub fn connect_pool(url: &str, max_size: usize) -> Result<deadpool_postgres::Pool, RunnerError> {
    use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
    let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
        RunnerError::Setup(format!("not a postgres URL: {e}"))
    })?;
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| RunnerError::Setup(format!("postgres pool: {e}")))
}
