//! A service process's edges, the same for every service: the health endpoints an
//! orchestrator polls, and waiting for the signal to stop.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use deadpool_postgres::Pool;

/// `/healthz` (the process answers) and `/readyz` (NATS connected and the service's own
/// Postgres answering; 503 with which one is not).
pub fn health_router(client: async_nats::Client, pool: Pool) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state((client, pool))
}

async fn ready(
    State((client, pool)): State<(async_nats::Client, Pool)>,
) -> (StatusCode, Json<serde_json::Value>) {
    let nats = client.connection_state() == async_nats::connection::State::Connected;
    let postgres = match pool.get().await {
        Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    let status = if nats && postgres {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({ "nats": nats, "postgres": postgres })),
    )
}

/// Returns on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
