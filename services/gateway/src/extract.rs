//! Extractors that refuse bad input with problem details naming the field at fault.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use doors::query::Rules;
use event_store::Position;
use problem::Problem;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::error::ApiError;

/// A JSON body: `application/json`, within the body limit, matching `T` exactly
/// (unknown fields are refused, never ignored).
#[derive(Debug)]
pub struct Body<T>(pub T);

/// The body limit in force, put in request extensions by the router.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = json_bytes(&parts, body).await?;
        Ok(Self(doors::parse_body(&bytes)?))
    }
}

/// The bytes of a JSON body: `application/json` (or `+json`), within the body limit.
pub async fn json_bytes(
    parts: &Parts,
    body: axum::body::Body,
) -> Result<axum::body::Bytes, Problem> {
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
        });
    if !json {
        return Err(
            Problem::new(415, "unsupported-media-type", "Unsupported media type")
                .with_detail("send the body as application/json"),
        );
    }
    let limit = parts
        .extensions
        .get::<BodyLimit>()
        .map_or(64 * 1024, |l| l.0);
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Problem::payload_too_large(limit))
}

/// Query parameters matching `T` exactly, within the constraints the document gives them
/// (see [`doors::query`]), refusing unknown ones.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + IntoParams + 'static> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(Self(rules_of::<T>().parse(query)?))
    }
}

/// `T`'s rules, read (and their patterns compiled) once.
fn rules_of<T: IntoParams + 'static>() -> Arc<Rules> {
    static RULES: LazyLock<Mutex<HashMap<TypeId, Arc<Rules>>>> = LazyLock::new(Default::default);
    let mut cache = RULES.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(
        cache
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(Rules::of::<T>())),
    )
}

/// Header: read-your-writes. A GET carrying it answers only once the projection has
/// applied that position (a command's `Tsunagu-Position`).
pub const MIN_POSITION_HEADER: &str = "tsunagu-min-position";

/// Header: where a command's event is stored.
pub const POSITION_HEADER: &str = "tsunagu-position";

/// The position a read must wait for, if the client sent one.
#[derive(Debug, Default)]
pub struct MinPosition(pub Option<Position>);

impl<S: Send + Sync> FromRequestParts<S> for MinPosition {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // An empty header says nothing, like an absent one (the document allows it).
        match parts
            .headers
            .get(MIN_POSITION_HEADER)
            .filter(|v| !v.is_empty())
        {
            None => Ok(Self(None)),
            Some(v) => {
                let text = v.to_str().unwrap_or("");
                text.parse::<Position>()
                    .map(|p| Self(Some(p)))
                    .map_err(|e| {
                        Problem::new(400, "invalid-header", "A header is invalid")
                            .with_detail(e.clone())
                            .with_field("/headers/Tsunagu-Min-Position", e)
                            .into()
                    })
            }
        }
    }
}

/// The request id set by the request-id layer.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        ))
    }
}

/// The client's address as the connection shows it (never a forwarded-for header, which
/// a client could forge). `None` where there is no connection (in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}
