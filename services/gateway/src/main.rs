//! `tsunagu-gateway`: HTTP in, bus out.

use std::sync::Arc;

use bus::BusClient;
use gateway::limits::{Limits, RateLimit};
use gateway::sessions::{FailedSignIns, Revocations, TokenKeys, follow_revocations};
use gateway::{app, settings::Settings, state::AppState};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `tsunagu-gateway openapi`: print the served document and stop, with no platform
    // around (the web application's API client is generated from it at build time).
    if std::env::args().nth(1).as_deref() == Some("openapi") {
        let (_, doc) = app::api();
        return match serde_json::to_string_pretty(&doc) {
            Ok(json) => {
                println!("{json}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tsunagu-gateway: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let _telemetry = telemetry::init("tsunagu-gateway");
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tsunagu-gateway: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "tsunagu-gateway failed");
            eprintln!("tsunagu-gateway: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let clock = clock::from_env()?;
    let client = settings.nats.connect("tsunagu-gateway").await?;
    let bus = BusClient::new(
        client.clone(),
        settings.nats.namespace.clone(),
        settings.bus_timeout,
    );
    let blobs = blob_store::BlobStore::open(
        async_nats::jetstream::new(client.clone()),
        &format!("{}_files", settings.nats.namespace),
        settings.nats.replicas,
    )
    .await
    .map_err(|e| anyhow::Error::new(e).context("opening the blob store"))?;
    let revocations = Arc::new(Revocations::default());
    let store = settings.nats.store(client)?;
    // Refusals go to the access stream, beside the access records, through group commit.
    store.ensure_stream(access_log::CONTEXT).await?;
    let refusals = access_log::AccessLog::new(event_store::GroupCommit::start(
        store.clone(),
        access_log::CONTEXT,
        Default::default(),
    ));
    tokio::spawn(follow_revocations(
        store,
        revocations.clone(),
        clock.clone(),
    ));
    let state = AppState {
        keys: Arc::new(TokenKeys::new(
            bus.clone(),
            settings.token_issuer.clone(),
            settings.token_audience.clone(),
        )),
        bus,
        bootstrap_token: Arc::from(settings.bootstrap_token.as_str()),
        body_limit: settings.body_limit,
        blobs: Arc::new(blobs),
        upload_limit: settings.upload_limit,
        revocations,
        clock,
        limits: Arc::new(Limits {
            per_address: RateLimit::per_minute(settings.rate_limit_per_address),
            per_member: RateLimit::per_minute(settings.rate_limit_per_member),
        }),
        refusals,
        failed_sign_ins: Arc::new(FailedSignIns::new(
            settings.sign_in_failures_per_address,
            std::time::Duration::from_secs(300),
        )),
    };
    let listener = tokio::net::TcpListener::bind(settings.http_addr).await?;
    tracing::info!(addr = %settings.http_addr, "gateway listening");
    let app = app::router(
        state,
        app::HttpOptions {
            request_timeout: settings.request_timeout,
            cors_origins: settings.cors_origins.clone(),
            upload_timeout: settings.upload_timeout,
            web_dir: Some(settings.web_dir.clone()),
        },
    );
    gateway::serve::serve(listener, app, settings.header_read_timeout, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
