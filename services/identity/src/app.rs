//! Start-up: connect, migrate, project, serve.

use std::sync::Arc;

use anyhow::Context as _;
use bus::ServiceSpec;
use clock::SharedClock;
use deadpool_postgres::Pool;
use projection_runner::ProjectionRunner;

use crate::credential_store::CredentialStore;
use crate::handlers::{Identity, endpoints};
use crate::projections::care::{self, Care};
use crate::projections::register::{self, Register};
use crate::settings::Settings;

pub fn pool(database_url: &str) -> anyhow::Result<Pool> {
    projection_runner::connect_pool(database_url, 16)
        .context("TSUNAGU_DATABASE_URL is not a usable postgres URL")
}

/// Creates the streams this service writes (its own, and the access records') and the
/// projection schemas. Safe to run again.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let client = settings.nats.connect("tsunagu-identity-migrate").await?;
    let store = settings.nats.store(client)?;
    store.ensure_stream(identity_api::CONTEXT).await?;
    store.ensure_stream(access_log::CONTEXT).await?;
    let pool = pool(&settings.database_url)?;
    ProjectionRunner::new(Arc::new(Register), pool.clone(), store.clone())
        .migrate()
        .await?;
    ProjectionRunner::new(Arc::new(Care), pool.clone(), store)
        .migrate()
        .await?;
    CredentialStore::new(pool, settings.credential_key.clone())
        .migrate()
        .await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// Rebuilds every projection (the register, then care) from sequence 0 into fresh
/// schemas, compares each with the live one, and swaps them in when asked.
pub async fn rebuild(settings: &Settings, swap: bool) -> anyhow::Result<()> {
    let client = settings.nats.connect("tsunagu-identity-rebuild").await?;
    let store = settings.nats.store(client)?;
    let pool = pool(&settings.database_url)?;
    rebuild_one(Register, register::SCHEMA, &pool, &store, swap).await?;
    rebuild_one(Care, care::SCHEMA, &pool, &store, swap).await?;
    Ok(())
}

async fn rebuild_one<P: projection_runner::Projection>(
    projection: P,
    live: &str,
    pool: &Pool,
    store: &event_store::JetStreamStore,
    swap: bool,
) -> anyhow::Result<()> {
    let target = format!("{live}_rebuild");
    let tables = projection.tables();
    let report =
        projection_runner::rebuild(Arc::new(projection), pool.clone(), store.clone(), &target)
            .await?;
    println!(
        "rebuilt {target}: {} events applied, {} duplicates, {} parked, checkpoint {}, {:.2}s",
        report.outcome.applied,
        report.outcome.duplicates,
        report.outcome.parked,
        report.outcome.checkpoint,
        report.elapsed.as_secs_f64()
    );
    let live_digests = projection_runner::table_digests(pool, live, tables).await?;
    let fresh = projection_runner::table_digests(pool, &target, tables).await?;
    for (l, f) in live_digests.iter().zip(&fresh) {
        let same = if l == f { "identical" } else { "DIFFERENT" };
        println!(
            "{:<20} live {:>8} rows  rebuilt {:>8} rows  {same}",
            l.0, l.1, f.1
        );
    }
    if swap {
        projection_runner::swap_in(pool, live, &target).await?;
        println!("swapped {target} in as the live {live}");
    }
    Ok(())
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn serve(settings: Settings, clock: SharedClock) -> anyhow::Result<()> {
    #[cfg(feature = "unrecorded-reads-for-benchmarks")]
    crate::benchmarks::announce();
    let client = settings
        .nats
        .connect("tsunagu-identity")
        .await
        .context("connecting to NATS")?;
    let store = settings.nats.store(client.clone())?;
    store
        .ensure_stream(identity_api::CONTEXT)
        .await
        .context("creating the identity stream")?;
    // Access records: their own stream, written with group commit (atomic batches).
    store
        .ensure_stream(access_log::CONTEXT)
        .await
        .context("creating the access stream")?;
    let access_log = access_log::AccessLog::new(event_store::GroupCommit::start(
        store.clone(),
        access_log::CONTEXT,
        Default::default(),
    ));
    let pool = pool(&settings.database_url)?;
    let runner = ProjectionRunner::new(Arc::new(Register), pool.clone(), store.clone());
    runner.migrate().await.context("migrating the register")?;
    let care_runner = ProjectionRunner::new(Arc::new(Care), pool.clone(), store.clone());
    care_runner
        .migrate()
        .await
        .context("migrating the care projection")?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let projection = tokio::spawn({
        let stop = stopped(stop_rx.clone());
        async move { runner.run(stop).await }
    });
    let care_projection = tokio::spawn({
        let stop = stopped(stop_rx.clone());
        async move { care_runner.run(stop).await }
    });

    let credentials = CredentialStore::new(pool.clone(), settings.credential_key.clone());
    credentials
        .migrate()
        .await
        .context("migrating the credential store")?;
    let identity = Arc::new(Identity {
        store,
        pool: pool.clone(),
        clock,
        read_wait: settings.read_wait,
        credentials,
        tokens: settings.tokens.clone(),
        access_log,
        facts: Default::default(),
    });
    let break_glass = tokio::spawn(crate::break_glass::run(
        identity.clone(),
        stopped(stop_rx.clone()),
    ));
    let service = bus::serve(
        client.clone(),
        ServiceSpec {
            name: identity_api::SERVICE,
            version: env!("CARGO_PKG_VERSION"),
            description: "identity & consent: the municipality register, organisations and service sites, members, patients, consents and care teams",
            namespace: settings.nats.namespace.clone(),
            concurrency: 64,
        },
        endpoints(identity),
    )
    .await
    .map_err(|e| anyhow::anyhow!("registering on the bus: {e}"))?;

    let listener = tokio::net::TcpListener::bind(settings.health_addr)
        .await
        .with_context(|| format!("binding {}", settings.health_addr))?;
    let health = lifecycle::health_router(client, pool);
    tracing::info!(addr = %settings.health_addr, namespace = %settings.nats.namespace, "identity service ready");
    let http = tokio::spawn({
        let stop = stopped(stop_rx.clone());
        async move {
            axum::serve(listener, health)
                .with_graceful_shutdown(stop)
                .await
        }
    });

    lifecycle::shutdown_signal().await;
    tracing::info!("stopping");
    let _ = stop_tx.send(true);
    service.stop().await;
    let _ = projection.await;
    let _ = care_projection.await;
    let _ = break_glass.await;
    let _ = http.await;
    Ok(())
}
