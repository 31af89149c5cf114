//! The checks every request passes before a handler runs: the rate per client address,
//! then, for the matched route, its row in [`crate::access::ROUTES`], authentication, the
//! rate per member, and the permission rules.

use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use problem::Problem;

use crate::access::{self, Door};
use crate::auth::{Signed, authenticate};
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::state::AppState;

fn too_many(wait: std::time::Duration, detail: &str) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = ApiError(
        Problem::new(429, "too-many-requests", "Too many requests")
            .with_detail(format!("{detail}; try again in {seconds} s")),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Outermost: every request, matched or not, counts against its client address.
pub async fn limit_addresses(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    if let Some(addr) = addr
        && let Err(wait) = state.limits.per_address.take(&addr, Instant::now())
    {
        tracing::warn!(%addr, "rate limit per address reached");
        return too_many(wait, "too many requests from your address");
    }
    next.run(request).await
}

/// On every route: the route's door, then who calls, then whether they may.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match admit(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(response) => response,
    }
}

async fn admit(state: &AppState, request: Request) -> Result<Request, Response> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let Some(row) = access::find(&parts.method, &path) else {
        if access::ROUTES.iter().any(|r| r.path == path) {
            // A known path asked with a method it has no row for: answer as the router
            // would (405), without letting the request reach any handler.
            return Err(axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response());
        }
        // A route without a row is a defect (a test catches it); closed, not open.
        tracing::error!(method = %parts.method, route = %path, "route has no access rule");
        return Err(ApiError(Problem::forbidden("this route has no access rule")).into_response());
    };
    let actions = match row.door {
        Door::Open => return Ok(Request::from_parts(parts, body)),
        Door::Signed(actions) => actions,
        Door::OwnAccount => &[permissions::Action::ManageOwnAccount][..],
        // The service decides and records; nothing to ask the rules here.
        Door::PatientRead => &[][..],
    };
    let signed = authenticate(&parts.headers, state)
        .await
        .map_err(IntoResponse::into_response)?;
    match &signed {
        Signed::Operator => {
            if matches!(row.door, Door::OwnAccount) {
                return Err(
                    ApiError(Problem::forbidden("this route is for signed-in members"))
                        .into_response(),
                );
            }
        }
        Signed::Member(caller) => {
            if let Err(wait) = state
                .limits
                .per_member
                .take(&caller.member_id, Instant::now())
            {
                tracing::warn!(member = %caller.member_id, "rate limit per member reached");
                return Err(too_many(wait, "too many requests from your account"));
            }
            let params = RawPathParams::from_request_parts(&mut parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
            let ties = match row.door {
                // One's own account: the tie holds by construction.
                Door::OwnAccount => vec![permissions::Relationship::Self_],
                _ => access::ties(row.object, caller, |name| {
                    params.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
                }),
            };
            let allowed = matches!(row.door, Door::PatientRead)
                || actions.iter().any(|&action| {
                    permissions::decide(&caller.subject, action, &ties).is_allowed()
                });
            if !allowed {
                tracing::info!(member = %caller.member_id, route = %path, "refused by the permission rules");
                return Err(
                    ApiError(Problem::forbidden("your roles do not allow this")).into_response()
                );
            }
        }
    }
    parts.extensions.insert(signed);
    Ok(Request::from_parts(parts, body))
}
