//! Who is calling. Until sign-in exists, the operator proves itself with the bootstrap
//! credential that `deploy/up` generates; every route that changes or reads the register
//! asks for an [`Operator`] proof, so a route that forgets the check does not compile.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use problem::Problem;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Proof that the caller is the region's operator.
#[derive(Debug, Clone)]
pub struct Operator {
    /// How the actor appears in events.
    pub actor: &'static str,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(presented) = presented else {
            return Err(Problem::unauthenticated("send Authorization: Bearer <token>").into());
        };
        // Constant time, so the comparison leaks nothing about the credential.
        let expected = state.bootstrap_token.as_bytes();
        if presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected)) {
            Ok(Operator {
                actor: "operator:bootstrap",
            })
        } else {
            Err(Problem::unauthenticated("the credential is not valid").into())
        }
    }
}

/// Who calls a route open to members: the operator with the bootstrap credential, or a
/// member with a verified, unrevoked access token.
#[derive(Debug, Clone)]
pub enum Signed {
    /// The operator (bootstrap credential).
    Operator(Operator),
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
            Signed::Operator(op) => crate::routes::context(op.actor, request_id, min),
            Signed::Member(caller) => {
                crate::routes::context(&format!("member:{}", caller.member_id), request_id, min)
                    .for_caller(caller.clone())
            }
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts) else {
            return Err(Problem::unauthenticated("send Authorization: Bearer <token>").into());
        };
        let expected = state.bootstrap_token.as_bytes();
        if token.len() == expected.len() && bool::from(token.as_bytes().ct_eq(expected)) {
            return Ok(Signed::Operator(Operator {
                actor: "operator:bootstrap",
            }));
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
}

impl Signed {
    /// Allows `action` by the shared permission rules (the bootstrap operator may do
    /// anything an operator may); the proof a handler needs before it forwards.
    pub fn may(&self, action: permissions::Action) -> Result<&Self, ApiError> {
        match self {
            Signed::Operator(_) => Ok(self),
            Signed::Member(caller) => {
                if permissions::decide(&caller.subject, action, &[]).is_allowed() {
                    Ok(self)
                } else {
                    Err(Problem::forbidden("your roles do not allow this").into())
                }
            }
        }
    }
}

/// A signed-in member (not the bootstrap operator).
#[derive(Debug, Clone)]
pub struct Member(pub permissions::Caller);

impl FromRequestParts<AppState> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Signed::from_request_parts(parts, state).await? {
            Signed::Member(caller) => Ok(Member(caller)),
            Signed::Operator(_) => {
                Err(Problem::forbidden("this route is for signed-in members").into())
            }
        }
    }
}
