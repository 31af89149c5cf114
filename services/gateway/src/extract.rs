//! Extractors that refuse bad input with problem details naming the field at fault.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
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
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json")
                    || v.to_ascii_lowercase().ends_with("+json")
            });
        if !json {
            return Err(
                Problem::new(415, "unsupported-media-type", "Unsupported media type")
                    .with_detail("send the body as application/json")
                    .into(),
            );
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(64 * 1024, |l| l.0);
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| Problem::payload_too_large(limit))?;
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Some(pointer) = control_character_at(&value, String::new())
        {
            let detail = "must not contain control characters (other than tab and line breaks)";
            return Err(
                Problem::new(422, "invalid-body", "The body does not match the schema")
                    .with_detail(format!("{pointer} {detail}"))
                    .with_field(pointer, detail)
                    .into(),
            );
        }
        Ok(Self(problem::parse_json(&bytes)?))
    }
}

/// Where the first text (a string or a key) holding a control character other than tab,
/// line feed and carriage return is, as a JSON pointer. No field of this API carries one,
/// and PostgreSQL cannot hold a NUL in text: accepted, such an event could never reach the
/// read models or the audit log.
fn control_character_at(value: &serde_json::Value, at: String) -> Option<String> {
    let bad = |text: &str| {
        text.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    };
    let escape = |key: &str| key.replace('~', "~0").replace('/', "~1");
    match value {
        serde_json::Value::String(text) => bad(text).then_some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| control_character_at(item, format!("{at}/{i}"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = format!("{at}/{}", escape(key));
            if bad(key) {
                Some(here)
            } else {
                control_character_at(item, here)
            }
        }),
        _ => None,
    }
}

/// Query parameters matching `T` exactly, within the constraints the document gives them
/// (see [`crate::query_rules`]), refusing unknown ones.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + IntoParams + 'static> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        crate::query_rules::check::<T>(&pairs)?;
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let value: Result<T, _> = serde_path_to_error::deserialize(de);
        value.map(Params).map_err(|e| {
            let field = e.path().to_string();
            let detail = e.into_inner().to_string();
            let pointer = if field == "." {
                String::from("/")
            } else {
                format!("/{field}")
            };
            Problem::new(400, "invalid-query", "A query parameter is invalid")
                .with_detail(detail.clone())
                .with_field(pointer, detail)
                .into()
        })
    }
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

#[cfg(test)]
mod tests {
    use super::control_character_at;
    use serde_json::json;

    #[test]
    fn a_control_character_is_found_at_its_field() {
        let at = |v| control_character_at(&v, String::new());
        assert_eq!(at(json!({"note": "two\nlines\tand a tab\r"})), None);
        assert_eq!(
            at(json!({"roles": ["nurse"], "reason": "a\u{0}b"})),
            Some("/reason".into())
        );
        assert_eq!(
            at(json!({"contacts": [{"name": "ok"}, {"name": "\u{1b}[2J"}]})),
            Some("/contacts/1/name".into())
        );
        assert_eq!(at(json!({"a/b\u{7}": 1})), Some("/a~1b\u{7}".into()));
        assert_eq!(at(json!("\u{85}")), Some(String::new()));
    }
}
