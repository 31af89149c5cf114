//! Start-up: connect, migrate, project, serve — on the shared host.

use std::sync::Arc;

use anyhow::Context as _;
use bus::{BusClient, ServiceSpec};
use clock::SharedClock;
use deadpool_postgres::Pool;
use projection_runner::ProjectionRunner;

use crate::handlers::Messaging;
use crate::projections::boards::{self, Boards};
use crate::projections::broadcasts::{self, Broadcasts};
use crate::projections::consultations::{self, Consultations};
use crate::projections::timeline::{self, Timeline};
use crate::settings::Settings;

pub fn pool(database_url: &str) -> anyhow::Result<Pool> {
    projection_runner::connect_pool(database_url, 16)
        .context("TSUNAGU_DATABASE_URL is not a usable postgres URL")
}

/// Creates the messaging stream and the projection's schema. Safe to run again.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let client = settings.nats.connect("tsunagu-messaging-migrate").await?;
    let store = settings.nats.store(client)?;
    store.ensure_stream(messaging_api::CONTEXT).await?;
    let pool = pool(&settings.database_url)?;
    ProjectionRunner::new(Arc::new(Timeline), pool.clone(), store.clone())
        .migrate()
        .await?;
    ProjectionRunner::new(Arc::new(Boards), pool.clone(), store.clone())
        .migrate()
        .await?;
    ProjectionRunner::new(Arc::new(Broadcasts), pool.clone(), store.clone())
        .migrate()
        .await?;
    ProjectionRunner::new(Arc::new(Consultations), pool, store)
        .migrate()
        .await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// Rebuilds the timeline, the boards, the broadcasts and the consultations from sequence 0 beside the live ones, compares,
/// swaps when asked.
pub async fn rebuild(settings: &Settings, swap: bool) -> anyhow::Result<()> {
    let client = settings.nats.connect("tsunagu-messaging-rebuild").await?;
    let store = settings.nats.store(client)?;
    let pool = pool(&settings.database_url)?;
    host::rebuild(Timeline, timeline::SCHEMA, &pool, &store, swap).await?;
    host::rebuild(Boards, boards::SCHEMA, &pool, &store, swap).await?;
    host::rebuild(Broadcasts, broadcasts::SCHEMA, &pool, &store, swap).await?;
    host::rebuild(Consultations, consultations::SCHEMA, &pool, &store, swap).await
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn serve(settings: Settings, clock: SharedClock) -> anyhow::Result<()> {
    let client = settings
        .nats
        .connect("tsunagu-messaging")
        .await
        .context("connecting to NATS")?;
    let store = settings.nats.store(client.clone())?;
    store
        .ensure_stream(messaging_api::CONTEXT)
        .await
        .context("creating the messaging stream")?;
    let pool = pool(&settings.database_url)?;
    let runner = ProjectionRunner::new(Arc::new(Timeline), pool.clone(), store.clone());
    runner.migrate().await.context("migrating the timeline")?;
    let board_runner = ProjectionRunner::new(Arc::new(Boards), pool.clone(), store.clone());
    board_runner
        .migrate()
        .await
        .context("migrating the boards")?;
    let broadcast_runner = ProjectionRunner::new(Arc::new(Broadcasts), pool.clone(), store.clone());
    broadcast_runner
        .migrate()
        .await
        .context("migrating the broadcasts")?;
    let consultation_runner =
        ProjectionRunner::new(Arc::new(Consultations), pool.clone(), store.clone());
    consultation_runner
        .migrate()
        .await
        .context("migrating the consultations")?;
    let mut host = host::Host::new();
    host.project(runner);
    host.project(board_runner);
    host.project(broadcast_runner);
    host.project(consultation_runner);
    let files = blob_store::BlobStore::open(
        async_nats::jetstream::new(client.clone()),
        &format!("{}_files", settings.nats.namespace),
        settings.nats.replicas,
    )
    .await
    .context("opening the file store")?;
    let messaging = Arc::new(Messaging {
        files,
        store,
        pool: pool.clone(),
        bus: BusClient::new(
            client.clone(),
            settings.nats.namespace.clone(),
            settings.bus_timeout,
        ),
        clock,
        read_wait: settings.read_wait,
    });
    host.serve(host::Serving {
        client,
        pool,
        health_addr: settings.health_addr,
        spec: ServiceSpec {
            name: messaging_api::SERVICE,
            version: env!("CARGO_PKG_VERSION"),
            description: "team messaging: patients' timelines, decided and sealed through identity & consent; boards; broadcasts; consultations",
            namespace: settings.nats.namespace.clone(),
            concurrency: 64,
        },
        endpoints: host::endpoints(messaging, messaging_api::endpoints::ALL),
    })
    .await
}
