//! `tsunagu-gateway`: HTTP in, bus out.

use std::sync::Arc;

use bus::BusClient;
use gateway::sessions::{FailedSignIns, Revocations, TokenKeys, follow_revocations};
use gateway::{app, settings::Settings, state::AppState};

#[tokio::main]
async fn main() -> std::process::ExitCode {
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
    let revocations = Arc::new(Revocations::default());
    let store = settings.nats.store(client)?;
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
        revocations,
        clock,
        failed_sign_ins: Arc::new(FailedSignIns::new(
            settings.sign_in_failures_per_address,
            std::time::Duration::from_secs(300),
        )),
    };
    let listener = tokio::net::TcpListener::bind(settings.http_addr).await?;
    tracing::info!(addr = %settings.http_addr, "gateway listening");
    let app = app::router(state, settings.request_timeout);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
