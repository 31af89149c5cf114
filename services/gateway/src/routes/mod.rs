//! The handlers written in the gateway, for the routes that are not one bus call answered
//! as it comes: health, this document, sign-in, sign-out and the token endpoints (the
//! browser's refresh cookie), files, patient documents and posts' files (streams). Each is declared like any other route (here for the gateway's own,
//! beside its contract otherwise) and found by its operation id. No domain logic lives here.

pub mod document;
pub mod files;
pub mod health;
pub mod members;
pub mod patients;
pub mod posts;

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use bus::{CallContext, Reply};
use doors::{Api, Content, Route, Tag};
use event_store::Position;
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::POSITION_HEADER;
use crate::state::AppState;

/// The gateway's own routes: liveness, readiness, this document.
pub fn api() -> Api {
    Api {
        tags: &[
            Tag {
                name: "health",
                description: "Liveness and readiness",
            },
            Tag {
                name: "api",
                description: "This description of the API",
            },
        ],
        routes: vec![
            Route::get("healthz", "/healthz")
                .tag("health")
                .summary("The gateway process is alive.")
                .answers_as(200, "alive", &[Content::of::<String>("text/plain")])
                .into(),
            Route::get("readyz", "/readyz")
                .tag("health")
                .summary(
                    "Ready: NATS is connected and every service answers with its database reachable.",
                )
                .answers::<serde_json::Value>(200, "ready")
                .answers::<serde_json::Value>(503, "a dependency is down")
                .into(),
            Route::get("openapi", "/api/v1/openapi.json")
                .tag("api")
                .summary("This API's OpenAPI 3.1 document: every route, its parameters, bodies, answers, errors and security.")
                .answers::<serde_json::Value>(200, "the OpenAPI document")
                .into(),
        ],
    }
}

/// The handler written here for a route declared as answered by the gateway.
pub fn handler(operation_id: &str, method: MethodFilter) -> Option<MethodRouter<AppState>> {
    Some(match operation_id {
        "healthz" => on(method, health::healthz),
        "readyz" => on(method, health::readyz),
        "openapi" => on(method, document::openapi),
        "sign_in" => on(method, members::sign_in),
        "refresh" => on(method, members::refresh),
        "sign_out" => on(method, members::sign_out),
        "sign_out_everywhere" => on(method, members::sign_out_everywhere),
        "client_token" => on(method, members::client_token),
        "attach_document" => on(method, patients::attach_document),
        "document_content" => on(method, patients::document_content),
        "post_attachment" => on(method, posts::post_attachment),
        "upload" => on(method, files::upload),
        "download" => on(method, files::download),
        _ => return None,
    })
}

/// Calls a service and renders its reply: `status` with the value on success (see
/// [`written`]), problem details otherwise.
pub async fn forward<B: Serialize>(
    state: &AppState,
    service: &str,
    endpoint: &str,
    ctx: &CallContext,
    body: &B,
    status: StatusCode,
) -> Result<Response, ApiError> {
    match state.bus.call(service, endpoint, ctx, body).await {
        Reply::Ok { value, position } => Ok(written(status, value, position)),
        Reply::Problem(p) => Err(ApiError(p)),
    }
}

/// A service's JSON answer: `status` with the value, and for a command the event's position
/// in a header and in the body.
pub fn written(
    status: StatusCode,
    mut value: serde_json::Value,
    position: Option<Position>,
) -> Response {
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
    response
}

#[cfg(test)]
mod tests {
    use doors::Call;

    /// The names [`super::handler`] answers.
    const HANDLERS: &[&str] = &[
        "healthz",
        "readyz",
        "openapi",
        "sign_in",
        "refresh",
        "sign_out",
        "sign_out_everywhere",
        "client_token",
        "attach_document",
        "document_content",
        "post_attachment",
        "upload",
        "download",
    ];

    #[test]
    fn every_handler_written_here_answers_a_route_declared_for_it_and_only_those() {
        let declared: Vec<&str> = crate::mount::declared()
            .filter(|r| r.meta().call == Call::Gateway)
            .map(|r| r.meta().operation_id)
            .collect();
        let mut sorted = declared.clone();
        sorted.sort_unstable();
        let mut handlers = HANDLERS.to_vec();
        handlers.sort_unstable();
        assert_eq!(sorted, handlers);
        for name in declared {
            assert!(
                super::handler(name, axum::routing::MethodFilter::GET).is_some(),
                "{name}"
            );
        }
        assert!(
            super::handler("register_municipality", axum::routing::MethodFilter::POST).is_none()
        );
    }
}
