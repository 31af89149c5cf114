//! Who is calling. The guard ([`crate::guard`]) authenticates every request to a route
//! that is not open and leaves the proof in the request; handlers take it with the
//! [`Signed`] or [`Member`] extractors, which never authenticate a second time.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use problem::Problem;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// How the bootstrap operator appears in events.
pub const BOOTSTRAP_ACTOR: &str = "operator:bootstrap";

/// Who calls a route: the operator with the bootstrap credential, or a member with a
/// verified, unrevoked access token.
#[derive(Debug, Clone)]
pub enum Signed {
    /// The operator (bootstrap credential that `deploy/up` generates).
    Operator,
    /// A signed-in member.
    Member(permissions::Caller),
}

impl Signed {
    /// The bus context of this caller's request.
    pub fn context(&self, request_id: &crate::extract::RequestId) -> bus::CallContext {
        self.context_after(request_id, crate::extract::MinPosition(None))
    }

    /// The bus context of a read that waits for `min` (read-your-writes).
    pub fn context_after(
        &self,
        request_id: &crate::extract::RequestId,
        min: crate::extract::MinPosition,
    ) -> bus::CallContext {
        match self {
            Signed::Operator => context(BOOTSTRAP_ACTOR, request_id, min),
            Signed::Member(caller) => {
                context(&format!("member:{}", caller.member_id), request_id, min)
                    .for_caller(caller.clone())
            }
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Proves who sent `headers`: the bootstrap credential (compared in constant time), or an
/// access token that verifies against the identity service's keys, has not been revoked,
/// and names only roles this gateway knows.
pub async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Signed, ApiError> {
    let Some(token) = bearer(headers).filter(|t| !t.is_empty()) else {
        return Err(Problem::unauthenticated("send Authorization: Bearer <token>").into());
    };
    let expected = state.bootstrap_token.as_bytes();
    if token.len() == expected.len() && bool::from(token.as_bytes().ct_eq(expected)) {
        return Ok(Signed::Operator);
    }
    let now = state.clock.now().timestamp();
    let claims = state
        .keys
        .verify(token, now)
        .await
        .map_err(|e| ApiError(Problem::unauthenticated(e.to_string())))?;
    if state.revocations.is_revoked(&claims) {
        return Err(Problem::unauthenticated("the session has ended").into());
    }
    let caller = crate::sessions::caller_of(&claims).ok_or_else(|| {
        ApiError(Problem::unauthenticated(
            "the token names roles this gateway does not know",
        ))
    })?;
    Ok(Signed::Member(caller))
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Absent only where the route's row says it is open, and then the handler should
        // not ask: refuse rather than serve an unauthenticated caller.
        parts
            .extensions
            .get::<Signed>()
            .cloned()
            .ok_or_else(|| ApiError(Problem::unauthenticated("sign in first")))
    }
}

/// A signed-in member (not the bootstrap operator).
#[derive(Debug, Clone)]
pub struct Member(pub permissions::Caller);

impl<S: Send + Sync> FromRequestParts<S> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Signed::from_request_parts(parts, state).await? {
            Signed::Member(caller) => Ok(Member(caller)),
            Signed::Operator => {
                Err(Problem::forbidden("this route is for signed-in members").into())
            }
        }
    }
}

/// Builds the bus context of a request.
pub fn context(
    actor: &str,
    request_id: &crate::extract::RequestId,
    min: crate::extract::MinPosition,
) -> bus::CallContext {
    let mut ctx = bus::CallContext::new(actor);
    if !request_id.0.is_empty() {
        ctx.request_id = request_id.0.clone();
    }
    ctx.after(min.0)
}
