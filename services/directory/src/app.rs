//! Start-up: connect, migrate, project, serve — on the shared host.

use std::sync::Arc;

use anyhow::Context as _;
use bus::{BusClient, ServiceSpec};
use clock::SharedClock;
use deadpool_postgres::Pool;
use projection_runner::ProjectionRunner;

use crate::handlers::Directory;
use crate::projections::availability::{self, Availability};
use crate::settings::Settings;

pub fn pool(database_url: &str) -> anyhow::Result<Pool> {
    projection_runner::connect_pool(database_url, 8)
        .context("TSUNAGU_DATABASE_URL is not a usable postgres URL")
}

/// Creates the directory stream and the projection's schema. Safe to run again.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let client = settings.nats.connect("tsunagu-directory-migrate").await?;
    let store = settings.nats.store(client)?;
    store.ensure_stream(directory_api::CONTEXT).await?;
    let pool = pool(&settings.database_url)?;
    ProjectionRunner::new(Arc::new(Availability), pool, store)
        .migrate()
        .await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// Rebuilds the availability projection from sequence 0 beside the live one, compares,
/// swaps when asked.
pub async fn rebuild(settings: &Settings, swap: bool) -> anyhow::Result<()> {
    let client = settings.nats.connect("tsunagu-directory-rebuild").await?;
    let store = settings.nats.store(client)?;
    let pool = pool(&settings.database_url)?;
    host::rebuild(Availability, availability::SCHEMA, &pool, &store, swap).await
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn serve(settings: Settings, clock: SharedClock) -> anyhow::Result<()> {
    let client = settings
        .nats
        .connect("tsunagu-directory")
        .await
        .context("connecting to NATS")?;
    let store = settings.nats.store(client.clone())?;
    store
        .ensure_stream(directory_api::CONTEXT)
        .await
        .context("creating the directory stream")?;
    let pool = pool(&settings.database_url)?;
    let runner = ProjectionRunner::new(Arc::new(Availability), pool.clone(), store.clone());
    runner
        .migrate()
        .await
        .context("migrating the availability")?;
    let mut host = host::Host::new();
    host.project(runner);
    let directory = Arc::new(Directory {
        store,
        pool: pool.clone(),
        bus: BusClient::new(
            client.clone(),
            settings.nats.namespace.clone(),
            settings.bus_timeout,
        ),
        clock,
        read_wait: settings.read_wait,
        fresh_for: chrono::Duration::from_std(settings.fresh_for)
            .context("TSUNAGU_AVAILABILITY_FRESH_SECONDS is too large")?,
    });
    host.serve(host::Serving {
        client,
        pool,
        health_addr: settings.health_addr,
        spec: ServiceSpec {
            name: directory_api::SERVICE,
            version: env!("CARGO_PKG_VERSION"),
            description: "the resource directory: what each site can take now, and how fresh that is",
            namespace: settings.nats.namespace.clone(),
            concurrency: 32,
        },
        endpoints: host::endpoints(directory, directory_api::endpoints::ALL),
    })
    .await
}
