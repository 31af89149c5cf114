//! The audit service's settings, read once from the environment.

use std::net::SocketAddr;
use std::time::Duration;

use bus::NatsSettings;

use crate::checkpointer::Policy;
use crate::records::Pseudonyms;

#[derive(Debug, Clone)]
pub struct Settings {
    pub nats: NatsSettings,
    /// `TSUNAGU_DATABASE_URL`: this service's own database (connect as its owner; the
    /// service itself then works as `TSUNAGU_AUDIT_DB_ROLE`).
    pub database_url: String,
    /// `TSUNAGU_AUDIT_DB_ROLE` (default `tsunagu_audit_writer`): the role the service works
    /// as, which may insert into the log and never change it. Empty: the connecting user.
    pub db_role: Option<String>,
    /// `TSUNAGU_HEALTH_ADDR` (default `127.0.0.1:8093`).
    pub health_addr: SocketAddr,
    /// `TSUNAGU_AUDIT_SEALING_KEY`: 64 hex digits sealing the checkpoint signing keys.
    pub sealing_key: credentials::sealed::SealingKey,
    /// `TSUNAGU_AUDIT_PSEUDONYM_KEY`: 64 hex digits turning patient ids into pseudonyms.
    pub pseudonyms: Pseudonyms,
    /// `TSUNAGU_AUDIT_CHECKPOINT_RECORDS` (1000), `TSUNAGU_AUDIT_CHECKPOINT_SECONDS` (300),
    /// `TSUNAGU_AUDIT_KEY_ROTATION_DAYS` (90), `TSUNAGU_AUDIT_CHECKPOINT_TICK_MS` (1000).
    pub checkpoints: Policy,
    /// `TSUNAGU_AUDIT_RETENTION_YEARS` (10): nothing younger is ever dropped. Nothing in
    /// the service drops anything; the figure is the declared policy, logged at start and printed by `verify`.
    pub retention_years: u32,
}

fn number(name: &str, default: u64, min: u64, max: u64) -> Result<u64, String> {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_string());
    text.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("{name} must be a whole number from {min} to {max}, got {text:?}"))
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let health =
            std::env::var("TSUNAGU_HEALTH_ADDR").unwrap_or_else(|_| "127.0.0.1:8093".into());
        let sealing = std::env::var("TSUNAGU_AUDIT_SEALING_KEY").map_err(|_| {
            "TSUNAGU_AUDIT_SEALING_KEY is required (64 hex digits; deploy/up generates one)"
                .to_owned()
        })?;
        let sealing_key = credentials::sealed::SealingKey::from_hex(&sealing)
            .map_err(|_| "TSUNAGU_AUDIT_SEALING_KEY must be 64 hex digits".to_owned())?;
        let pseudonym = std::env::var("TSUNAGU_AUDIT_PSEUDONYM_KEY").map_err(|_| {
            "TSUNAGU_AUDIT_PSEUDONYM_KEY is required (64 hex digits; deploy/up generates one; never change it)".to_owned()
        })?;
        let pseudonyms = Pseudonyms::from_hex(&pseudonym)
            .ok_or_else(|| "TSUNAGU_AUDIT_PSEUDONYM_KEY must be 64 hex digits".to_owned())?;
        let role = std::env::var("TSUNAGU_AUDIT_DB_ROLE")
            .unwrap_or_else(|_| "tsunagu_audit_writer".into());
        if !role.is_empty()
            && !role
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err("TSUNAGU_AUDIT_DB_ROLE must be lowercase letters, digits and _".into());
        }
        Ok(Self {
            nats: NatsSettings::from_env()?,
            database_url: std::env::var("TSUNAGU_DATABASE_URL").map_err(|_| {
                "TSUNAGU_DATABASE_URL is required (postgres://user:password@host:port/database)"
                    .to_owned()
            })?,
            db_role: (!role.is_empty()).then_some(role),
            health_addr: health
                .parse()
                .map_err(|_| format!("TSUNAGU_HEALTH_ADDR must be host:port, got {health:?}"))?,
            sealing_key,
            pseudonyms,
            checkpoints: Policy {
                every_records: number("TSUNAGU_AUDIT_CHECKPOINT_RECORDS", 1000, 1, 10_000_000)?,
                every: chrono::Duration::seconds(number(
                    "TSUNAGU_AUDIT_CHECKPOINT_SECONDS",
                    300,
                    1,
                    86_400,
                )? as i64),
                key_lifetime: chrono::Duration::days(number(
                    "TSUNAGU_AUDIT_KEY_ROTATION_DAYS",
                    90,
                    1,
                    3650,
                )? as i64),
                tick: Duration::from_millis(number(
                    "TSUNAGU_AUDIT_CHECKPOINT_TICK_MS",
                    1000,
                    10,
                    600_000,
                )?),
            },
            retention_years: number("TSUNAGU_AUDIT_RETENTION_YEARS", 10, 1, 100)? as u32,
        })
    }
}
