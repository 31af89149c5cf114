//! The keys that sign checkpoints. The secret half stays sealed in the service's database
//! (schema `audit_keys`, never an event); the public half is published on the audit stream
//! (`SigningKeyIntroduced`), so checkpoints can be checked by anyone holding the stream.

use crate::AuditError;
use chrono::{DateTime, Utc};
use credentials::sealed::SealingKey;
use deadpool_postgres::Pool;
use ed25519_dalek::SigningKey;
use projection_runner::Migration;

/// The schema.
pub const SCHEMA: &str = "audit_keys";

const MIGRATIONS: &[Migration] = &[Migration {
    version: "0001_signing_keys",
    sql: include_str!("../migrations/keys_0001.sql"),
}];

/// The key that signs now.
pub struct CurrentKey {
    /// Its id.
    pub key_id: String,
    /// The secret.
    pub key: SigningKey,
    /// Since when.
    pub created_at: DateTime<Utc>,
}

/// The sealed key store.
#[derive(Clone)]
pub struct KeyStore {
    pool: Pool,
    sealing: SealingKey,
}

impl KeyStore {
    /// Over the service's database.
    pub fn new(pool: Pool, sealing: SealingKey) -> Self {
        Self { pool, sealing }
    }

    /// Creates the schema.
    pub async fn migrate(&self) -> Result<(), AuditError> {
        projection_runner::migrate_schema(&self.pool, SCHEMA, MIGRATIONS).await?;
        Ok(())
    }

    /// The newest key that is not retired.
    pub async fn current(&self) -> Result<Option<CurrentKey>, AuditError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT key_id, sealed_secret, created_at FROM audit_keys.signing_keys
                 WHERE retired_at IS NULL ORDER BY created_at DESC, key_id LIMIT 1",
                &[],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = row.get(1);
        let secret = self
            .sealing
            .open(&sealed)
            .map_err(|_| AuditError::SigningKeyNotOpened)?;
        let seed: [u8; 32] = secret
            .try_into()
            .map_err(|_| AuditError::SigningKeyLength)?;
        Ok(Some(CurrentKey {
            key_id: row.get(0),
            key: SigningKey::from_bytes(&seed),
            created_at: row.get(2),
        }))
    }

    /// Makes a new key the current one and retires the others. Returns it; the caller
    /// publishes its public half (and the retirements).
    pub async fn rotate(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(CurrentKey, Vec<String>), AuditError> {
        let seed: [u8; 32] = rand::random();
        let key = SigningKey::from_bytes(&seed);
        let key_id = audit_chain::key_id(&key.verifying_key());
        let public = hex::encode(key.verifying_key().as_bytes());
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let retired = tx
            .query(
                "UPDATE audit_keys.signing_keys SET retired_at = $1 WHERE retired_at IS NULL
                 RETURNING key_id",
                &[&now],
            )
            .await?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        tx.execute(
            "INSERT INTO audit_keys.signing_keys (key_id, public_key, sealed_secret, created_at)
             VALUES ($1, $2, $3, $4)",
            &[&key_id, &public, &self.sealing.seal(&seed), &now],
        )
        .await?;
        tx.commit().await?;
        Ok((
            CurrentKey {
                key_id,
                key,
                created_at: now,
            },
            retired,
        ))
    }
}
