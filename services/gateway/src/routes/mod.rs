//! HTTP routes: each checks who calls, reads the request, and forwards one call to one
//! service over the bus. No domain logic lives here.

pub mod audit;
pub mod document;
pub mod files;
pub mod health;
pub mod members;
pub mod municipalities;
pub mod organisations;
pub mod patients;

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bus::{CallContext, Reply};
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::{MinPosition, POSITION_HEADER, RequestId};
use crate::state::AppState;

/// Builds the bus context of a request.
pub fn context(actor: &str, request_id: &RequestId, min: MinPosition) -> CallContext {
    let mut ctx = CallContext::new(actor);
    if !request_id.0.is_empty() {
        ctx.request_id = request_id.0.clone();
    }
    ctx.after(min.0)
}

/// Calls a service and renders its reply: `status` with the value on success (plus the
/// event's position in a header and in the body for commands), problem details otherwise.
pub async fn forward<B: Serialize>(
    state: &AppState,
    service: &str,
    endpoint: &str,
    ctx: &CallContext,
    body: &B,
    status: StatusCode,
) -> Result<Response, ApiError> {
    match state.bus.call(service, endpoint, ctx, body).await {
        Reply::Ok {
            mut value,
            position,
        } => {
            let header = position
                .as_ref()
                .and_then(|p| HeaderValue::from_str(&p.to_string()).ok());
            if let (Some(p), serde_json::Value::Object(map)) = (&position, &mut value) {
                map.insert(
                    "position".to_owned(),
                    serde_json::Value::String(p.to_string()),
                );
            }
            let mut response = (status, Json(value)).into_response();
            if let Some(h) = header {
                response.headers_mut().insert(POSITION_HEADER, h);
            }
            Ok(response)
        }
        Reply::Problem(p) => Err(ApiError(p)),
    }
}
