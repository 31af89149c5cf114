//! The API's own description, served by the gateway it describes.

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;

/// The OpenAPI document as JSON, built once at start-up from the same route list as the
/// router.
#[derive(Debug, Clone)]
pub struct Document(pub axum::body::Bytes);

/// This API's OpenAPI 3.1 document: every route, its parameters, bodies, answers, errors
/// and security.
pub async fn openapi(Extension(doc): Extension<Document>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc.0)
}
