//! The directory service's settings, read once from the environment.

use std::net::SocketAddr;
use std::time::Duration;

use bus::NatsSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub nats: NatsSettings,
    /// `TSUNAGU_DATABASE_URL`: this service's own database.
    pub database_url: String,
    /// `TSUNAGU_HEALTH_ADDR` (default `127.0.0.1:8095`): where `/healthz` and `/readyz` answer.
    pub health_addr: SocketAddr,
    /// `TSUNAGU_READ_WAIT_MS` (default 5000): how long a query waits for read-your-writes.
    pub read_wait: Duration,
    /// `TSUNAGU_BUS_TIMEOUT_MS` (default 8000): how long a call to identity may take.
    pub bus_timeout: Duration,
    /// `TSUNAGU_AVAILABILITY_FRESH_SECONDS` (default 604800, 7 days): how long a site's
    /// status is shown as fresh; after that it is shown as stale, with its age.
    pub fresh_for: Duration,
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        let millis = |name: &str, default: &str| -> Result<Duration, String> {
            let v = var(name, default);
            v.parse()
                .map(Duration::from_millis)
                .map_err(|_| format!("{name} must be milliseconds, got {v:?}"))
        };
        let health = var("TSUNAGU_HEALTH_ADDR", "127.0.0.1:8095");
        let fresh = var("TSUNAGU_AVAILABILITY_FRESH_SECONDS", "604800");
        Ok(Self {
            nats: NatsSettings::from_env()?,
            database_url: std::env::var("TSUNAGU_DATABASE_URL").map_err(|_| {
                "TSUNAGU_DATABASE_URL is required (postgres://user:password@host:port/database)"
                    .to_owned()
            })?,
            health_addr: health
                .parse()
                .map_err(|_| format!("TSUNAGU_HEALTH_ADDR must be host:port, got {health:?}"))?,
            read_wait: millis("TSUNAGU_READ_WAIT_MS", "5000")?,
            bus_timeout: millis("TSUNAGU_BUS_TIMEOUT_MS", "8000")?,
            fresh_for: fresh
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    format!("TSUNAGU_AVAILABILITY_FRESH_SECONDS must be a positive number of seconds, got {fresh:?}")
                })?,
        })
    }
}
