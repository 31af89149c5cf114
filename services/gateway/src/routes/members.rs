//! Signing in and the token endpoints, which the gateway answers itself: failed sign-ins
//! from an address slow it down (429 with `Retry-After`), a browser's refresh token travels
//! in its cookie (set on sign-in and refresh, deleted on sign-out; `web::refresh_cookie`),
//! and the OAuth2 token endpoint speaks forms. Their declarations are identity's
//! (`identity_api::members::routes`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use identity_api::SERVICE;
use identity_api::members::endpoints as ep;
use identity_api::members::*;
use problem::Problem;

use super::forward;
use crate::auth::{Member, Signed, context};
use crate::error::ApiError;
use crate::extract::{Body, ClientAddr, MinPosition, RequestId};
use crate::state::AppState;
use crate::web::refresh_cookie;

fn anonymous(rid: &RequestId) -> bus::CallContext {
    context("anonymous", rid, MinPosition(None))
}

/// Sign in with username, password and the current code of the second factor.
pub async fn sign_in(
    State(state): State<AppState>,
    rid: RequestId,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Body(body): Body<SignIn>,
) -> Result<Response, ApiError> {
    let carrier = refresh_cookie::carrier(&headers)?;
    if let Some(seconds) = addr.and_then(|a| state.failed_sign_ins.retry_after(a)) {
        let p = Problem::new(
            429,
            "too-many-failures",
            "Too many failed sign-ins from this address",
        )
        .with_detail(format!("try again in {seconds} seconds"));
        return Ok(with_retry_after(p, seconds));
    }
    let response = forward(
        &state,
        SERVICE,
        ep::SIGN_IN,
        &anonymous(&rid),
        &body,
        StatusCode::CREATED,
    )
    .await;
    match response {
        Err(ApiError(p)) if p.status == 429 => {
            let seconds = p
                .detail
                .as_deref()
                .and_then(|d| d.split_whitespace().find_map(|w| w.parse::<u64>().ok()))
                .unwrap_or(60);
            Ok(with_retry_after(p, seconds))
        }
        Err(ApiError(p)) => {
            if p.status == 401
                && let Some(a) = addr
            {
                state.failed_sign_ins.failed(a);
            }
            Err(ApiError(p))
        }
        ok => refresh_cookie::carry(ok, carrier).await,
    }
}

fn with_retry_after(p: Problem, seconds: u64) -> Response {
    let mut r = crate::error::problem_response(p);
    if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

/// Exchange the latest refresh token for a new pair. Using an old one ends the session.
/// A browser's token is read from, and its successor set in, the refresh cookie.
pub async fn refresh(
    State(state): State<AppState>,
    rid: RequestId,
    headers: HeaderMap,
    Body(mut body): Body<RefreshSession>,
) -> Result<Response, ApiError> {
    let carrier = refresh_cookie::carrier(&headers)?;
    if carrier == refresh_cookie::Carrier::Body {
        if body.refresh_token.is_empty() {
            return Err(Problem::invalid_field(
                "/refresh_token",
                "give the refresh token (a browser signed in with the refresh cookie sends Tsunagu-Refresh-Cookie: true instead)",
            )
            .into());
        }
    } else {
        body.refresh_token = refresh_cookie::token_from(&headers).unwrap_or_default();
    }
    let answer = forward(
        &state,
        SERVICE,
        ep::REFRESH_SESSION,
        &anonymous(&rid),
        &body,
        StatusCode::OK,
    )
    .await;
    refresh_cookie::carry(answer, carrier).await
}

/// Sign out: the session ends; a browser's refresh cookie is deleted too.
pub async fn sign_out(
    State(state): State<AppState>,
    Member(caller): Member,
    rid: RequestId,
) -> Result<Response, ApiError> {
    signed_out(&state, caller, &rid, ep::SIGN_OUT).await
}

/// Sign out everywhere: every session of the member ends; this browser's cookie goes too.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    Member(caller): Member,
    rid: RequestId,
) -> Result<Response, ApiError> {
    signed_out(&state, caller, &rid, ep::SIGN_OUT_EVERYWHERE).await
}

async fn signed_out(
    state: &AppState,
    caller: permissions::Caller,
    rid: &RequestId,
    endpoint: &str,
) -> Result<Response, ApiError> {
    let ctx = Signed::Member(caller).context(rid);
    let answer = forward(
        state,
        SERVICE,
        endpoint,
        &ctx,
        &serde_json::json!({}),
        StatusCode::OK,
    )
    .await?;
    Ok(refresh_cookie::with_cookie(
        answer,
        refresh_cookie::cleared(),
    ))
}

/// OAuth2 token endpoint for machine clients: the client credentials grant (RFC 6749
/// §4.4), form-encoded, client secret in the body.
pub async fn client_token(
    State(state): State<AppState>,
    rid: RequestId,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let form = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(
            Problem::new(415, "unsupported-media-type", "Unsupported media type")
                .with_detail("send the grant as application/x-www-form-urlencoded")
                .into(),
        );
    }
    let bytes = axum::body::to_bytes(request.into_body(), state.body_limit)
        .await
        .map_err(|_| Problem::payload_too_large(state.body_limit))?;
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(&bytes));
    let grant: ClientCredentials = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = format!("/{}", e.path());
        let detail = e.into_inner().to_string();
        Problem::new(400, "invalid-request", "The token request is invalid")
            .with_field(field, detail)
    })?;
    forward(
        &state,
        SERVICE,
        ep::CLIENT_TOKEN,
        &anonymous(&rid),
        &grant,
        StatusCode::OK,
    )
    .await
}
