use deadpool_postgres::Pool;

use crate::RunnerError;

/// One step of a schema's history, applied once, in order.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// A sortable, never-reused name, e.g. `0001_municipalities`.
    pub version: &'static str,
    /// The DDL, written with unqualified table names (it runs with the schema on the
    /// search path).
    pub sql: &'static str,
}

/// Which migrations a schema has had.
const MIGRATIONS_TABLE: &str = r#"
CREATE TABLE IF NOT EXISTS _migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"#;

/// The runner's own tables, in every projection schema.
const RUNNER_TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS _migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS _checkpoint (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    stream     text NOT NULL,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS _processed (
    event_id uuid PRIMARY KEY,
    position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS _dead_letters (
    position   bigint PRIMARY KEY,
    event_id   uuid,
    event_type text,
    error      text NOT NULL,
    stored     text NOT NULL,
    parked_at  timestamptz NOT NULL DEFAULT now()
);
"#;

/// Quotes a schema name that passed [`check_schema_name`].
pub(crate) fn quoted(schema: &str) -> String {
    format!("\"{schema}\"")
}

pub(crate) fn check_schema_name(schema: &str) -> Result<(), RunnerError> {
    let ok = !schema.is_empty()
        && schema.len() <= 60
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(RunnerError::Setup(format!(
            "schema name {schema:?} must be lowercase ascii letters, digits and _"
        )))
    }
}

/// Creates `schema` if needed, the runner's tables in it, and applies the projection's
/// pending migrations. Safe to run concurrently: a transaction-scoped advisory lock
/// serialises migrators of the same schema.
pub async fn migrate(
    pool: &Pool,
    schema: &str,
    stream: &str,
    migrations: &[Migration],
) -> Result<(), RunnerError> {
    apply(pool, schema, Some(stream), migrations).await
}

/// Creates `schema` if needed and applies its pending migrations: for a service's own
/// tables that are not a projection (a credential store), with the same bookkeeping.
pub async fn migrate_schema(
    pool: &Pool,
    schema: &str,
    migrations: &[Migration],
) -> Result<(), RunnerError> {
    apply(pool, schema, None, migrations).await
}

async fn apply(
    pool: &Pool,
    schema: &str,
    projection_of: Option<&str>,
    migrations: &[Migration],
) -> Result<(), RunnerError> {
    check_schema_name(schema)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&schema])
        .await?;
    let runner_tables = if projection_of.is_some() {
        RUNNER_TABLES
    } else {
        MIGRATIONS_TABLE
    };
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {s}; SET LOCAL search_path TO {s}; {runner_tables}",
        s = quoted(schema)
    ))
    .await?;
    if let Some(stream) = projection_of {
        tx.execute(
            "INSERT INTO _checkpoint (stream, position) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&stream],
        )
        .await?;
    }
    for m in migrations {
        let done = tx
            .query_opt(
                "SELECT 1 FROM _migrations WHERE version = $1",
                &[&m.version],
            )
            .await?;
        if done.is_none() {
            tracing::info!(schema, version = m.version, "applying migration");
            tx.batch_execute(m.sql).await?;
            tx.execute(
                "INSERT INTO _migrations (version) VALUES ($1)",
                &[&m.version],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
