//! The web application's built files (`services/web/dist`), served at `/`.
//!
//! - A path whose last segment has an extension is a file: served from the directory
//!   (precompressed `.br`/`.gz` beside it when the browser takes them), or 404.
//! - Any other path outside `/api/` is a screen of the application (`/patients/…`): the
//!   answer is `index.html`, whose script routes it in the browser.
//! - `/api/…` never reaches the files: an unknown API path stays a problem-details 404.
//!
//! Pages carry [`PAGE_CSP`]: scripts, styles, images and connections from this origin only,
//! no inline script or style, no plugin, no frame, and Trusted Types enforced with one
//! policy, `tsunagu`, which lets the service worker's own URL through and nothing else.
//! Hashed assets (`/assets/…`, their names change with their content) are cached for a
//! year; everything else (the page, the service worker, the manifest) is revalidated on
//! every load, so a new release reaches every browser at its next visit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use problem::Problem;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;

/// The Content-Security-Policy of the application's pages. Images may also be `blob:`: a
/// post's photo is fetched with the access token (never a cookie), then shown from memory.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob:; media-src blob:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
     worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
     object-src 'none'; require-trusted-types-for 'script'; trusted-types tsunagu";

/// Cache policy of hashed assets: their name changes whenever their content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of everything else: keep a copy, but ask every time whether it changed.
const REVALIDATE: &str = "no-cache";

/// Where the built application is, if anywhere.
#[derive(Debug, Clone, Default)]
pub struct AppFiles {
    dir: Option<Arc<PathBuf>>,
}

impl AppFiles {
    /// The files in `dir`; with `None`, or a directory without an `index.html`, `/` answers
    /// 404 (the API works without the application).
    pub fn at(dir: Option<PathBuf>) -> Self {
        let dir = dir.filter(|d| {
            let built = d.join("index.html").is_file();
            if !built {
                tracing::warn!(dir = %d.display(), "no web application built there; / answers 404");
            }
            built
        });
        Self {
            dir: dir.map(Arc::new),
        }
    }

    /// The directory served, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref().map(PathBuf::as_path)
    }
}

/// The router's fallback: the application's files and screens, or problem details for an
/// unknown API path.
pub async fn serve_app(Extension(files): Extension<AppFiles>, request: Request) -> Response {
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    let Some(dir) = files.dir.as_deref().filter(|_| !api) else {
        return ApiError(Problem::not_found("no such resource")).into_response();
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = ApiError(Problem::new(
            405,
            "method-not-allowed",
            "Method not allowed",
        ))
        .into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let asset = path.starts_with("/assets/");
    let is_file = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    // Known by the path, not the content type: a 304 carries none, and the browser takes the
    // 304's headers into its copy of the page — a policy missing there would be replaced
    // by the API's deny-everything one.
    let page = !is_file || path.ends_with(".html");
    let served = if is_file {
        ServeDir::new(dir)
            .precompressed_br()
            .precompressed_gzip()
            .append_index_html_on_directories(false)
            .oneshot(request)
            .await
    } else {
        ServeFile::new(dir.join("index.html"))
            .precompressed_br()
            .precompressed_gzip()
            .oneshot(request)
            .await
    };
    let mut response = match served {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    let status = response.status();
    if status.is_client_error() {
        // An empty 404 from the directory: the problems layer words it.
        return ApiError(Problem::not_found("no such file")).into_response();
    }
    let headers = response.headers_mut();
    if page {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    }
    let cache = if asset { IMMUTABLE } else { REVALIDATE };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;

    fn built() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index.html"),
            "<!doctype html><title>t</title>",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/app-1a2b.js"), "console.log(1)").unwrap();
        std::fs::write(dir.path().join("assets/app-1a2b.js.gz"), b"gzipped").unwrap();
        std::fs::write(dir.path().join("sw.js"), "self").unwrap();
        dir
    }

    fn app(dir: Option<PathBuf>) -> Router {
        Router::new()
            .fallback(serve_app)
            .layer(Extension(AppFiles::at(dir)))
    }

    async fn get(app: &Router, path: &str, encoding: Option<&str>) -> Response {
        let mut request = Request::get(path);
        if let Some(e) = encoding {
            request = request.header(header::ACCEPT_ENCODING, e);
        }
        app.clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn header_of(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn a_screen_of_the_application_is_its_page_with_the_strict_policy_revalidated_each_time()
    {
        let dir = built();
        let app = app(Some(dir.path().to_owned()));
        for path in [
            "/",
            "/patients/0191c3a2-0000-7000-8000-000000000001",
            "/settings",
        ] {
            let response = get(&app, path, None).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/html"));
            assert_eq!(
                header_of(&response, header::CONTENT_SECURITY_POLICY),
                PAGE_CSP
            );
            assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache");
        }
        assert!(
            !PAGE_CSP.contains("unsafe"),
            "no unsafe-inline, no unsafe-eval"
        );
    }

    #[tokio::test]
    async fn a_revalidated_page_keeps_its_policy() {
        let dir = built();
        let app = app(Some(dir.path().to_owned()));
        let first = get(&app, "/", None).await;
        let modified = header_of(&first, header::LAST_MODIFIED).to_owned();
        assert!(!modified.is_empty(), "the page says when it changed");
        let again = app
            .clone()
            .oneshot(
                Request::get("/patients")
                    .header(header::IF_MODIFIED_SINCE, modified)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header_of(&again, header::CONTENT_SECURITY_POLICY), PAGE_CSP);
        assert_eq!(header_of(&again, header::CACHE_CONTROL), "no-cache");
    }

    #[tokio::test]
    async fn hashed_assets_are_cached_for_a_year_and_come_precompressed_when_the_browser_takes_it()
    {
        let dir = built();
        let app = app(Some(dir.path().to_owned()));
        let response = get(&app, "/assets/app-1a2b.js", Some("gzip")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header_of(&response, header::CONTENT_ENCODING), "gzip");
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header_of(&response, header::VARY), "accept-encoding");
        let plain = get(&app, "/assets/app-1a2b.js", None).await;
        assert_eq!(header_of(&plain, header::CONTENT_ENCODING), "");
        let worker = get(&app, "/sw.js", None).await;
        assert_eq!(worker.status(), StatusCode::OK);
        assert_eq!(header_of(&worker, header::CACHE_CONTROL), "no-cache");
    }

    #[tokio::test]
    async fn a_missing_file_and_an_unknown_api_path_are_404_problems_never_the_page() {
        let dir = built();
        let app = app(Some(dir.path().to_owned()));
        for path in [
            "/assets/gone-0000.js",
            "/api/v1/nothing-here",
            "/api",
            "/../Cargo.toml",
        ] {
            let response = get(&app, path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                header_of(&response, header::CONTENT_TYPE),
                "application/problem+json",
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn without_a_built_application_every_path_is_404_and_writes_are_405() {
        let app_without = app(None);
        assert_eq!(
            get(&app_without, "/", None).await.status(),
            StatusCode::NOT_FOUND
        );
        let empty = tempfile::tempdir().unwrap();
        let app_empty = app(Some(empty.path().to_owned()));
        assert_eq!(
            get(&app_empty, "/", None).await.status(),
            StatusCode::NOT_FOUND
        );
        let dir = built();
        let response = app(Some(dir.path().to_owned()))
            .oneshot(Request::post("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header_of(&response, header::ALLOW), "GET, HEAD");
    }
}
