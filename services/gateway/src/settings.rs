//! The gateway's settings, read once from the environment.

use std::net::SocketAddr;
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
            request_timeout: Duration::from_millis(number("TSUNAGU_REQUEST_TIMEOUT_MS", 10_000)?),
            bus_timeout: Duration::from_millis(number("TSUNAGU_BUS_TIMEOUT_MS", 8_000)?),
            token_issuer: std::env::var("TSUNAGU_TOKEN_ISSUER")
                .unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned()),
            sign_in_failures_per_address: number("TSUNAGU_SIGN_IN_FAILURES_PER_ADDRESS", 20)?
                as u32,
            token_audience: std::env::var("TSUNAGU_TOKEN_AUDIENCE")
                .unwrap_or_else(|_| "tsunagu-api".to_owned()),
        })
    }
}
