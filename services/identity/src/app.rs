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
    host::rebuild(Register, register::SCHEMA, &pool, &store, swap).await?;
    host::rebuild(Care, care::SCHEMA, &pool, &store, swap).await?;
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

    let mut host = host::Host::new();
    host.project(runner);
    host.project(care_runner);

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
    host.spawn(
        "break-glass sweep",
        crate::break_glass::run(identity.clone(), host.stopping()),
    );
    host.serve(host::Serving {
        client,
        pool,
        health_addr: settings.health_addr,
        spec: ServiceSpec {
            name: identity_api::SERVICE,
            version: env!("CARGO_PKG_VERSION"),
            description: "identity & consent: the municipality register, organisations and service sites, members, patients, consents and care teams",
            namespace: settings.nats.namespace.clone(),
            concurrency: 64,
        },
        endpoints: endpoints(identity),
    })
    .await
}
