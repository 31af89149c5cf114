//! Projections: Postgres read models built from event streams, exactly once.
//!
//! A [`Projection`] owns one Postgres schema (named after it) holding its tables, its
//! checkpoint, the ids of the events it applied and its dead letters. The
//! [`ProjectionRunner`] feeds it events of one context's stream:
//!
//! - each batch is applied in **one transaction together with the checkpoint**, so after a
//!   crash at any point the projection is exactly at its checkpoint;
//! - on start it reads from **its own checkpoint + 1** through an ordered consumer (no
//!   server-side acks to trust), so a late redelivery can never be skipped;
//! - events are **de-duplicated by event id** (an atomic batch retried after a lost
//!   acknowledgement can be stored twice);
//! - an event that cannot be applied is **parked** in `_dead_letters` and reported, never
//!   silently skipped;
//! - concurrent runners of the same projection (replicas) are safe: the checkpoint row is
//!   locked and re-checked in every transaction.
//!
//! [`rebuild`] replays a stream from sequence 0 into fresh tables, with progress, and
//! [`table_digests`] compares two copies.
//!
//! Projections send nothing and call nothing: side effects live in reactors.

mod migrate;
mod runner;

pub use migrate::{Migration, migrate, migrate_schema};
pub use runner::{
    ApplyError, BatchOutcome, Projection, ProjectionRunner, RebuildReport, RunnerError, checkpoint,
    dead_letters, rebuild, swap_in, table_digests, wait_for_position,
};

/// Names a crash point for tests: when `TSUNAGU_CRASH_POINT` is `<name>:<n>`, the process
/// aborts the `n`th time it passes that point (n from 1). Used to prove that a crash
/// between two steps loses and duplicates nothing.
pub fn crash_point(name: &str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SETTING: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static PASSES: AtomicU64 = AtomicU64::new(0);
    let setting = SETTING.get_or_init(|| {
        let value = std::env::var("TSUNAGU_CRASH_POINT").ok()?;
        let (point, n) = value.rsplit_once(':')?;
        Some((point.to_owned(), n.parse().ok()?))
    });
    if let Some((point, n)) = setting
        && point == name
        && PASSES.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
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
