//! The identity service's settings, read once from the environment.

use std::net::SocketAddr;
use std::time::Duration;

use bus::NatsSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub nats: NatsSettings,
    /// `TSUNAGU_DATABASE_URL`: this service's own database.
    pub database_url: String,
    /// `TSUNAGU_HEALTH_ADDR`: where `/healthz` and `/readyz` answer.
    pub health_addr: SocketAddr,
    /// `TSUNAGU_READ_WAIT_MS`: how long a query waits for read-your-writes.
    pub read_wait: Duration,
    /// `TSUNAGU_CREDENTIAL_KEY`: 64 hex digits sealing second-factor secrets and signing
    /// keys at rest. Required: without it nothing sealed could be opened after a restart.
    pub credential_key: credentials::sealed::SealingKey,
    /// `TSUNAGU_TOKEN_ISSUER` (default `http://127.0.0.1:8080`), `TSUNAGU_TOKEN_AUDIENCE`
    /// (default `tsunagu-api`), `TSUNAGU_ACCESS_TOKEN_SECONDS` (default 900).
    pub tokens: TokenSettings,
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        let health = var("TSUNAGU_HEALTH_ADDR", "127.0.0.1:8091");
        let wait = var("TSUNAGU_READ_WAIT_MS", "5000");
        let key = std::env::var("TSUNAGU_CREDENTIAL_KEY").map_err(|_| {
            "TSUNAGU_CREDENTIAL_KEY is required (64 hex digits; deploy/up generates one)".to_owned()
        })?;
        let credential_key = credentials::sealed::SealingKey::from_hex(&key)
            .map_err(|_| "TSUNAGU_CREDENTIAL_KEY must be 64 hex digits".to_owned())?;
        let ttl = var("TSUNAGU_ACCESS_TOKEN_SECONDS", "900");
        let ttl: i64 = ttl
            .parse()
            .ok()
            .filter(|s| (30..=3600).contains(s))
            .ok_or_else(|| {
                format!("TSUNAGU_ACCESS_TOKEN_SECONDS must be 30 to 3600, got {ttl:?}")
            })?;
        let tokens = TokenSettings {
            issuer: var("TSUNAGU_TOKEN_ISSUER", "http://127.0.0.1:8080"),
            audience: var("TSUNAGU_TOKEN_AUDIENCE", "tsunagu-api"),
            access_ttl: chrono::Duration::seconds(ttl),
        };
        Ok(Self {
            credential_key,
            tokens,
            nats: NatsSettings::from_env()?,
            database_url: std::env::var("TSUNAGU_DATABASE_URL").map_err(|_| {
                "TSUNAGU_DATABASE_URL is required (postgres://user:password@host:port/database)"
                    .to_owned()
            })?,
            health_addr: health
                .parse()
                .map_err(|_| format!("TSUNAGU_HEALTH_ADDR must be host:port, got {health:?}"))?,
            read_wait: Duration::from_millis(
                wait.parse().map_err(|_| {
                    format!("TSUNAGU_READ_WAIT_MS must be milliseconds, got {wait:?}")
                })?,
            ),
        })
    }
}

/// Token settings: issuer, audience, lifetime.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: chrono::Duration,
}
