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
