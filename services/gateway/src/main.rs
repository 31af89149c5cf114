//! `tsunagu-gateway`: HTTP in, bus out.

use std::sync::Arc;

use bus::BusClient;
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
    let client = settings.nats.connect("tsunagu-gateway").await?;
    let state = AppState {
        bus: BusClient::new(
            client,
            settings.nats.namespace.clone(),
            settings.bus_timeout,
        ),
        bootstrap_token: Arc::from(settings.bootstrap_token.as_str()),
        body_limit: settings.body_limit,
    };
    let listener = tokio::net::TcpListener::bind(settings.http_addr).await?;
    tracing::info!(addr = %settings.http_addr, "gateway listening");
    axum::serve(listener, app::router(state, settings.request_timeout))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
