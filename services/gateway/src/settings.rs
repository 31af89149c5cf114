//! The gateway's settings, read once from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bus::NatsSettings;

#[derive(Clone)]
pub struct Settings {
    pub nats: NatsSettings,
    /// `TSUNAGU_HTTP_ADDR` (default 127.0.0.1:8080).
    pub http_addr: SocketAddr,
    /// `TSUNAGU_BOOTSTRAP_TOKEN`: the operator's credential until sign-in exists.
    pub bootstrap_token: String,
    /// `TSUNAGU_BODY_LIMIT` in bytes (default 64 KiB).
    pub body_limit: usize,
    /// `TSUNAGU_UPLOAD_LIMIT` in bytes (default 20 MiB): the largest file an upload may
    /// carry (uploads stream to the blob store and are not bound by the body limit).
    pub upload_limit: u64,
    /// `TSUNAGU_UPLOAD_TIMEOUT_MS` (default 120 s): a whole upload or download.
    pub upload_timeout: Duration,
    /// `TSUNAGU_REQUEST_TIMEOUT_MS` (default 10 s): the whole request, bus included.
    pub request_timeout: Duration,
    /// `TSUNAGU_BUS_TIMEOUT_MS` (default 8 s): one call to a service.
    pub bus_timeout: Duration,
    /// `TSUNAGU_TOKEN_ISSUER` (default `http://127.0.0.1:8080`): the `iss` tokens must carry.
    pub token_issuer: String,
    /// `TSUNAGU_TOKEN_AUDIENCE` (default `tsunagu-api`): the `aud` tokens must carry.
    pub token_audience: String,
    /// `TSUNAGU_SIGN_IN_FAILURES_PER_ADDRESS` (default 20): failed sign-ins one address
    /// may make in five minutes.
    pub sign_in_failures_per_address: u32,
    /// `TSUNAGU_RATE_LIMIT_PER_MEMBER` (default 600): requests a member may make in a
    /// minute, in a burst or spread out; 0 turns the limit off.
    pub rate_limit_per_member: u32,
    /// `TSUNAGU_RATE_LIMIT_PER_ADDRESS` (default 3000): requests per minute from one client
    /// address (a care facility's staff may share one); 0 turns the limit off.
    pub rate_limit_per_address: u32,
    /// `TSUNAGU_CORS_ORIGINS`: the web application's origins, comma-separated, exact
    /// (`https://tsunagu.example.jp`); none by default. A wildcard is refused.
    pub cors_origins: Vec<String>,
    /// `TSUNAGU_HEADER_READ_TIMEOUT_MS` (default 5 s): a client that has not sent its
    /// request headers by then is disconnected, so slow clients hold nothing.
    pub header_read_timeout: Duration,
    /// `TSUNAGU_WEB_DIR` (default: `services/web/dist` of the checkout this binary was built
    /// from): the built web application, served at `/`.
    pub web_dir: PathBuf,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("nats", &self.nats)
            .field("http_addr", &self.http_addr)
            .field("bootstrap_token", &"<redacted>")
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

fn number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name} must be a whole number, got {v:?}")),
        Err(_) => Ok(default),
    }
}

fn cors_origins() -> Result<Vec<String>, String> {
    let raw = std::env::var("TSUNAGU_CORS_ORIGINS").unwrap_or_default();
    let mut origins = Vec::new();
    for origin in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let scheme_ok = origin.starts_with("https://") || origin.starts_with("http://");
        let bare = origin.splitn(4, '/').nth(3).is_none() && !origin.contains('*');
        if !scheme_ok || !bare || axum::http::HeaderValue::from_str(origin).is_err() {
            return Err(format!(
                "TSUNAGU_CORS_ORIGINS holds exact origins like https://tsunagu.example.jp (no wildcard, no path), got {origin:?}"
            ));
        }
        origins.push(origin.to_owned());
    }
    Ok(origins)
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let addr =
            std::env::var("TSUNAGU_HTTP_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
        let bootstrap_token = std::env::var("TSUNAGU_BOOTSTRAP_TOKEN").map_err(|_| {
            "TSUNAGU_BOOTSTRAP_TOKEN is required (deploy/up generates one)".to_owned()
        })?;
        if bootstrap_token.len() < 32 {
            return Err("TSUNAGU_BOOTSTRAP_TOKEN must be at least 32 characters".to_owned());
        }
        Ok(Self {
            nats: NatsSettings::from_env()?,
            http_addr: addr
                .parse()
                .map_err(|_| format!("TSUNAGU_HTTP_ADDR must be host:port, got {addr:?}"))?,
            bootstrap_token,
            body_limit: number("TSUNAGU_BODY_LIMIT", 64 * 1024)? as usize,
            upload_limit: match number("TSUNAGU_UPLOAD_LIMIT", 20 << 20)? {
                0 => return Err("TSUNAGU_UPLOAD_LIMIT must be at least 1 byte".to_owned()),
                n => n,
            },
            upload_timeout: Duration::from_millis(number("TSUNAGU_UPLOAD_TIMEOUT_MS", 120_000)?),
            request_timeout: Duration::from_millis(number("TSUNAGU_REQUEST_TIMEOUT_MS", 10_000)?),
            bus_timeout: Duration::from_millis(number("TSUNAGU_BUS_TIMEOUT_MS", 8_000)?),
            token_issuer: std::env::var("TSUNAGU_TOKEN_ISSUER")
                .unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned()),
            sign_in_failures_per_address: number("TSUNAGU_SIGN_IN_FAILURES_PER_ADDRESS", 20)?
                as u32,
            rate_limit_per_member: number("TSUNAGU_RATE_LIMIT_PER_MEMBER", 600)? as u32,
            rate_limit_per_address: number("TSUNAGU_RATE_LIMIT_PER_ADDRESS", 3000)? as u32,
            cors_origins: cors_origins()?,
            header_read_timeout: Duration::from_millis(number(
                "TSUNAGU_HEADER_READ_TIMEOUT_MS",
                5_000,
            )?),
            web_dir: std::env::var_os("TSUNAGU_WEB_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/dist"))
                }),
            token_audience: std::env::var("TSUNAGU_TOKEN_AUDIENCE")
                .unwrap_or_else(|_| "tsunagu-api".to_owned()),
        })
    }
}
