//! One error type for every route: problem details (RFC 9457) with the right status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use problem::Problem;

/// Content type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answered as problem details.
#[derive(Debug)]
pub struct ApiError(pub Problem);

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        Self(p)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(self.0)
    }
}

/// Renders a problem.
pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// Turns every error response that is not yet problem details (axum's own 404, 405,
/// 413, 408 and extractor rejections) into problem details, and stamps the request id.
pub async fn problems_everywhere(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    let (parts, body) = response.into_parts();
    let mut problem = if is_problem {
        match axum::body::to_bytes(body, 1 << 20).await {
            Ok(bytes) => {
                serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| Problem::internal())
            }
            Err(_) => Problem::internal(),
        }
    } else {
        let text = axum::body::to_bytes(body, 1 << 16)
            .await
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&text).trim().to_owned();
        bare(status, text)
    };
    if problem.instance.is_none() {
        problem.instance = request_id.map(|id| format!("urn:tsunagu:request:{id}"));
    }
    let mut out = problem_response(problem);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

fn bare(status: StatusCode, text: String) -> Problem {
    match status {
        StatusCode::NOT_FOUND => Problem::not_found("no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => {
            Problem::new(405, "method-not-allowed", "Method not allowed")
                .with_detail("this resource does not accept that method")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(413, "payload-too-large", "The request body is too large")
                .with_detail(text)
        }
        StatusCode::REQUEST_TIMEOUT => {
            Problem::new(408, "request-timeout", "The request took too long")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Problem::new(415, "unsupported-media-type", "Unsupported media type").with_detail(text)
        }
        s if s.is_server_error() => Problem::internal(),
        s => Problem::new(
            s.as_u16(),
            "bad-request",
            s.canonical_reason().unwrap_or("Bad request"),
        )
        .with_detail(text),
    }
}
