//! Signs the head of the log every N seconds or M records and publishes it on the audit
//! stream (`CheckpointSigned`), so a copy of the log's state lives outside the database.
//! Rotates the signing key after its time, publishing the new public key first.

use crate::AuditError;
use std::time::Duration;

use audit_api::AuditEvent;
use audit_chain::{CheckpointBody, sign_checkpoint};
use chrono::{DateTime, Utc};
use clock::SharedClock;
use deadpool_postgres::Pool;
use event_store::{
    Actor, EventContract, EventEnvelope, EventStore, ExpectedVersion, JetStreamStore, Visibility,
};
use uuid::Uuid;

use crate::keys::{CurrentKey, KeyStore};
use crate::log;

/// When to sign.
#[derive(Debug, Clone)]
pub struct Policy {
    /// After this many new records (`TSUNAGU_AUDIT_CHECKPOINT_RECORDS`).
    pub every_records: u64,
    /// Or after this long with any new record (`TSUNAGU_AUDIT_CHECKPOINT_SECONDS`).
    pub every: chrono::Duration,
    /// A key signs for this long (`TSUNAGU_AUDIT_KEY_ROTATION_DAYS`).
    pub key_lifetime: chrono::Duration,
    /// How often to look.
    pub tick: Duration,
}

/// Appends one audit event (the audit's own facts).
pub async fn publish(
    store: &JetStreamStore,
    clock: &SharedClock,
    aggregate_type: &str,
    aggregate_id: &str,
    event: AuditEvent,
    actor: &str,
) -> Result<event_store::Position, AuditError> {
    let envelope = EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().to_owned(),
        schema_version: AuditEvent::current_version(event.event_type()).unwrap_or(1),
        visibility: Visibility::Patient,
        municipality: None,
        aggregate_type: aggregate_type.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred_at: clock.now(),
        actor: Actor(actor.to_owned()),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        traceparent: telemetry::current_traceparent(),
        payload: event.to_payload(),
    };
    Ok(store
        .append(audit_api::CONTEXT, ExpectedVersion::Any, envelope)
        .await?
        .position)
}

/// Signs checkpoints.
pub struct Checkpointer {
    pub store: JetStreamStore,
    pub pool: Pool,
    pub keys: KeyStore,
    pub clock: SharedClock,
    pub policy: Policy,
    /// Names the log in every checkpoint (`tsunagu-audit/<namespace>`).
    pub log_id: String,
}

impl Checkpointer {
    /// The current key, after rotating it if it is missing or too old.
    pub async fn key(&self) -> Result<CurrentKey, AuditError> {
        let now = self.clock.now();
        if let Some(key) = self.keys.current().await?
            && now - key.created_at < self.policy.key_lifetime
        {
            return Ok(key);
        }
        rotate(&self.keys, &self.store, &self.clock).await
    }

    /// Signs the head if a checkpoint is due; returns the size signed.
    pub async fn once(&self, last_signed: &mut u64) -> Result<Option<u64>, AuditError> {
        let client = self.pool.get().await?;
        let (size, head) = log::head(&**client).await?;
        let last: Option<(i64, DateTime<Utc>)> = client
            .query_opt(
                "SELECT tree_size, signed_at FROM checkpoints ORDER BY tree_size DESC LIMIT 1",
                &[],
            )
            .await?
            .map(|r| (r.get(0), r.get(1)));
        let (last_size, last_at) = last
            .map(|(s, at)| (s as u64, Some(at)))
            .unwrap_or((0, None));
        let last_size = last_size.max(*last_signed);
        let now = self.clock.now();
        let due = size > last_size
            && (size - last_size >= self.policy.every_records
                || last_at.is_none_or(|at| now - at >= self.policy.every));
        if !due {
            return Ok(None);
        }
        let key = self.key().await?;
        let root = log::root(&**client, size).await?;
        let checkpoint = sign_checkpoint(
            CheckpointBody {
                log_id: self.log_id.clone(),
                tree_size: size,
                root,
                chain_head: head,
                signed_at: now,
                key_id: key.key_id.clone(),
            },
            &key.key,
        );
        publish(
            &self.store,
            &self.clock,
            audit_api::aggregates::CHECKPOINT,
            "log",
            AuditEvent::CheckpointSigned { checkpoint },
            "service:audit",
        )
        .await?;
        *last_signed = size;
        tracing::info!(tree_size = size, key_id = %key.key_id, "checkpoint signed");
        Ok(Some(size))
    }

    /// Signs until `stop` is set.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut last_signed = 0;
        loop {
            if let Err(e) = self.once(&mut last_signed).await {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "could not sign a checkpoint; trying again"
                );
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(self.policy.tick) => {}
            }
        }
    }
}

/// Makes a new signing key, publishing its public half and the retirement of the old.
pub async fn rotate(
    keys: &KeyStore,
    store: &JetStreamStore,
    clock: &SharedClock,
) -> Result<CurrentKey, AuditError> {
    let (key, retired) = keys.rotate(clock.now()).await?;
    publish(
        store,
        clock,
        audit_api::aggregates::SIGNING_KEY,
        &key.key_id,
        AuditEvent::SigningKeyIntroduced {
            key_id: key.key_id.clone(),
            public_key: hex::encode(key.key.verifying_key().as_bytes()),
        },
        "service:audit",
    )
    .await?;
    for key_id in retired {
        publish(
            store,
            clock,
            audit_api::aggregates::SIGNING_KEY,
            &key_id,
            AuditEvent::SigningKeyRetired {
                key_id: key_id.clone(),
            },
            "service:audit",
        )
        .await?;
    }
    tracing::info!(key_id = %key.key_id, "checkpoint signing key rotated");
    Ok(key)
}
