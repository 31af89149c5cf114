//! Files: uploads stream into the blob store, downloads stream out of it. Files never
//! cross the bus; commands and events refer to them by digest. A digest is not a
//! permission: only the uploader and their sites hold a file, and anyone else is told
//! there is no such file.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use blob_store::{BlobError, Refusal};
use problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use doors::{Api, Content, Door, FileContent, Object, PathId, PathIds, Route, Tag};
use permissions::Action;

use crate::auth::Member;
use crate::error::ApiError;
use crate::state::AppState;

/// A stored file: what a command refers to.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileStored {
    /// SHA-256 of the content, lowercase hex: the file's name.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The media type decided from the content.
    pub media_type: String,
    /// Where to download it.
    pub href: String,
}

/// A file in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FilePath {
    /// SHA-256 of the content, 64 lowercase hex characters.
    #[param(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
}

impl PathIds for FilePath {
    const IDS: &'static [PathId] = &[PathId::new("sha256", Object::File)];
}

/// The file routes (the gateway's own: files never cross the bus).
pub fn api() -> Api {
    const SHARE: Door = Door::Signed(&[Action::ShareFiles]);
    Api {
        tags: &[Tag {
            name: "files",
            description: "Files by SHA-256: uploads streamed into the blob store, type decided from the content, executables refused; downloads streamed to those who hold them",
        }],
        routes: vec![
            Route::post("upload", "/api/v1/files")
                .tag("files")
                .summary("Upload a file (the raw bytes as the body, any `Content-Type`). Its type is decided from its content; executables and unknown types are refused. You and your sites hold the file: only you and your colleagues there can download it.")
                .door(SHARE)
                .body_doc(
                    Content::of::<FileContent>("*/*"),
                    Some("the file's bytes; its type is decided from them, whatever Content-Type says"),
                )
                .answers::<FileStored>(201, "stored (the same content is stored once, under the same digest)")
                .with_headers(&[("Location", "where to download the file")])
                .problems(&[
                    (413, "the file is larger than the upload limit"),
                    (415, "an executable, a document with macros, or a type not accepted; `type` names the reason"),
                    (422, "the file is empty (`/body`)"),
                ])
                .into(),
            Route::get("download", "/api/v1/files/{sha256}")
                .tag("files")
                .summary("Download a file you or one of your sites holds, streamed, with the type decided at upload.")
                .door(SHARE)
                .path::<FilePath>()
                .answers_as(200, "the file; Content-Type is the type decided at upload", &[Content::of::<FileContent>("*/*")])
                .with_headers(&[("ETag", "the digest, quoted"), ("Content-Disposition", "attachment")])
                .problems(&[
                    (404, "no such file, or not one you or your sites hold (the two are not told apart)"),
                    (422, "not a SHA-256 digest in lowercase hex"),
                ])
                .into(),
        ],
    }
}

/// Who may fetch what the caller uploads, and whose files the caller may fetch.
pub(crate) fn holders(caller: &permissions::Caller) -> Vec<String> {
    std::iter::once(format!("member:{}", caller.member_id))
        .chain(caller.sites.iter().map(|s| format!("site:{s}")))
        .collect()
}

fn too_large(limit: u64) -> Problem {
    Problem::payload_too_large(usize::try_from(limit).unwrap_or(usize::MAX))
}

pub(crate) fn problem(e: BlobError) -> Problem {
    match e {
        BlobError::InvalidDigest => invalid_digest(),
        BlobError::Empty => Problem::invalid_field("/body", "the file is empty"),
        BlobError::TooLarge { limit } => too_large(limit),
        BlobError::Refused(refusal) => refused(refusal),
        BlobError::Body(source) => {
            tracing::info!(error = %source, "upload ended early");
            Problem::bad_request("the body could not be read to its end")
        }
        e @ BlobError::Store { .. } => {
            tracing::error!(error = %DisplayChain(&e), "blob store failed");
            Problem::unavailable("the file store is unavailable; try again")
        }
        e => {
            tracing::error!(error = %DisplayChain(&e), "blob store failed");
            Problem::internal()
        }
    }
}

/// An error with its sources, for the log.
struct DisplayChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

fn refused(refusal: Refusal) -> Problem {
    if refusal.is_executable() {
        Problem::new(415, refusal.slug(), "Executable content is refused").with_detail(format!(
            "the file is {refusal}; programs, scripts and macros are never accepted"
        ))
    } else {
        Problem::new(415, refusal.slug(), "Unsupported file type").with_detail(
            "accepted: PDF, PNG, JPEG, GIF, WebP, HEIC/HEIF, TIFF, MP4/QuickTime, UTF-8 text, \
             Word (.docx) and Excel (.xlsx) without macros",
        )
    }
}

fn invalid_digest() -> Problem {
    Problem::invalid_field("/sha256", "a SHA-256 digest: 64 lowercase hex characters")
}

fn no_such_file() -> Problem {
    Problem::not_found("no such file")
}

/// Upload a file (the raw bytes as the body, any `Content-Type`). Its type is decided
/// from its content; executables and unknown types are refused. You and your sites hold
/// the file: only you and your colleagues there can download it.
pub async fn upload(
    State(state): State<AppState>,
    Member(caller): Member,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.upload_limit) {
        return Err(too_large(state.upload_limit).into());
    }
    let stored = state
        .blobs
        .put(body.into_data_stream(), state.upload_limit)
        .await
        .map_err(problem)?;
    for holder in holders(&caller) {
        state
            .blobs
            .grant(&stored.sha256, &holder)
            .await
            .map_err(problem)?;
    }
    let href = format!("/api/v1/files/{}", stored.sha256);
    let location = HeaderValue::from_str(&href).map_err(|_| Problem::internal())?;
    let mut response = (
        StatusCode::CREATED,
        axum::Json(FileStored {
            sha256: stored.sha256,
            size: stored.size,
            media_type: stored.media_type,
            href,
        }),
    )
        .into_response();
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

/// Download a file you or one of your sites holds, streamed, with the type decided at
/// upload.
pub async fn download(
    State(state): State<AppState>,
    Member(caller): Member,
    Path(FilePath { sha256 }): Path<FilePath>,
) -> Result<Response, ApiError> {
    if !blob_store::is_sha256_hex(&sha256) {
        return Err(invalid_digest().into());
    }
    if !state
        .blobs
        .held_by_any(&sha256, &holders(&caller))
        .await
        .map_err(problem)?
    {
        return Err(no_such_file().into());
    }
    let Some((blob, content)) = state.blobs.get(&sha256).await.map_err(problem)? else {
        return Err(no_such_file().into());
    };
    streamed(&blob, content)
}

/// A blob as a streamed download, typed as decided at upload and never cached.
pub(crate) fn streamed(
    blob: &blob_store::StoredBlob,
    content: impl futures::Stream<Item = std::io::Result<axum::body::Bytes>> + Send + 'static,
) -> Result<Response, ApiError> {
    let sha256 = &blob.sha256;
    let header_value = |v: &str| HeaderValue::from_str(v).map_err(|_| Problem::internal());
    let mut response = Response::new(Body::from_stream(content));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(&blob.media_type)?);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    h.insert(header::ETAG, header_value(&format!("\"{sha256}\""))?);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}
