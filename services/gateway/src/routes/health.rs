//! Liveness and readiness of the gateway and what it depends on.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bus::{CallContext, Reply};

use crate::state::AppState;

/// The gateway process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready: NATS is connected and every service answers with its database reachable.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let nats = state.bus.nats().connection_state() == async_nats::connection::State::Connected;
    let identity = match state
        .bus
        .call(
            identity_api::SERVICE,
            identity_api::endpoints::HEALTH,
            &CallContext::new("gateway"),
            &serde_json::json!({}),
        )
        .await
    {
        Reply::Ok { value, .. } => value,
        Reply::Problem(p) => serde_json::json!({ "database": false, "problem": p.detail }),
    };
    let identity_ok = identity
        .get("database")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let status = if nats && identity_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({ "nats": nats, "identity": identity })),
    )
}
