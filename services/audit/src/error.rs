//! What can go wrong in the audit service's own work (collecting, signing, keys, replays),
//! typed at the library's edge; the binary adds its context with `anyhow`.

/// Why a step of the audit service's work failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Postgres refused or failed a statement.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection could be had from the pool.
    #[error("postgres pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A schema could not be migrated.
    #[error("migrations: {0}")]
    Migrations(#[from] projection_runner::RunnerError),
    /// The event store failed to read or to write.
    #[error("event store: {0}")]
    Store(#[from] event_store::StoreError),
    /// An append was refused or failed.
    #[error("append: {0}")]
    Append(#[from] event_store::AppendError),
    /// An event could not be written out as JSON (a replay).
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The sealed signing key does not open with the sealing key this process was given.
    #[error(
        "a signing key cannot be opened: is TSUNAGU_AUDIT_SEALING_KEY the one it was sealed with?"
    )]
    SigningKeyNotOpened,
    /// The sealed signing key opened to something that is not an Ed25519 seed.
    #[error("a sealed signing key is not 32 bytes")]
    SigningKeyLength,
}
