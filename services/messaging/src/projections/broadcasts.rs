//! The broadcasts: each as it stands (waiting, returned, published) and every step of its
//! history.

use deadpool_postgres::Transaction;
use event_store::{EventContract, RecordedEvent};
use messaging_api::events::MessagingEvent;
use projection_runner::{ApplyError, Migration, Projection, Statements, params};

/// The projection (schema `broadcasts`).
#[derive(Debug, Default)]
pub struct Broadcasts;

/// Its schema name.
pub const SCHEMA: &str = "broadcasts";

const MIGRATIONS: &[Migration] = &[Migration {
    version: "0001_broadcasts",
    sql: include_str!("../../migrations/broadcasts_0001.sql"),
}];

impl Projection for Broadcasts {
    fn name(&self) -> &'static str {
        SCHEMA
    }

    fn context(&self) -> &'static str {
        messaging_api::CONTEXT
    }

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn tables(&self) -> &'static [&'static str] {
        &["broadcasts", "broadcast_steps"]
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut out = Statements::new();
        for event in events {
            write(event, &mut out)?;
        }
        out.execute(tx).await
    }
}

/// One step of a broadcast's history, as its event tells it.
struct Step<'a> {
    broadcast_id: &'a str,
    sequence: i64,
    step: &'a str,
    version: u32,
    title: Option<String>,
    text: Option<String>,
    reason: Option<String>,
    by: serde_json::Value,
    at: chrono::DateTime<chrono::Utc>,
}

fn step(out: &mut Statements, s: Step<'_>) {
    let Step {
        broadcast_id,
        sequence,
        step,
        version,
        title,
        text,
        reason,
        by,
        at,
    } = s;
    out.push(
        "INSERT INTO broadcast_steps (broadcast_id, sequence, step, version, title, text, reason,
                                      by_member, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (broadcast_id, sequence) DO NOTHING",
        params![
            broadcast_id.to_owned(),
            sequence,
            step.to_owned(),
            i32::try_from(version).unwrap_or(i32::MAX),
            title,
            text,
            reason,
            by,
            at
        ],
    );
}

fn write(event: &RecordedEvent, out: &mut Statements) -> Result<(), ApplyError> {
    let env = &event.envelope;
    let at = env.occurred_at;
    let sequence = i64::try_from(event.position.sequence).unwrap_or(i64::MAX);
    match MessagingEvent::decode(&env.event_type, env.schema_version, env.payload.clone())? {
        MessagingEvent::BroadcastSubmitted {
            broadcast_id,
            municipality,
            version,
            title,
            text,
            professions,
            by,
        } => {
            let by = serde_json::to_value(&by).unwrap_or_default();
            out.push(
                "INSERT INTO broadcasts (broadcast_id, municipality, status, version, title, text,
                                         professions, submitted_by, updated_at, sequence)
                 VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (broadcast_id) DO UPDATE
                    SET status = 'pending', version = EXCLUDED.version, title = EXCLUDED.title,
                        text = EXCLUDED.text, professions = EXCLUDED.professions,
                        returned_reason = NULL, updated_at = EXCLUDED.updated_at,
                        sequence = EXCLUDED.sequence
                  WHERE broadcasts.sequence < EXCLUDED.sequence",
                params![
                    broadcast_id.clone(),
                    municipality,
                    i32::try_from(version).unwrap_or(i32::MAX),
                    title.clone(),
                    text.clone(),
                    serde_json::to_value(&professions).unwrap_or_default(),
                    by.clone(),
                    at,
                    sequence
                ],
            );
            step(
                out,
                Step {
                    broadcast_id: &broadcast_id,
                    sequence,
                    step: "pending",
                    version,
                    title: Some(title),
                    text: Some(text),
                    reason: None,
                    by,
                    at,
                },
            );
        }
        MessagingEvent::BroadcastReturned {
            broadcast_id,
            version,
            reason,
            by,
        } => {
            out.push(
                "UPDATE broadcasts SET status = 'returned', returned_reason = $2, updated_at = $3,
                                       sequence = $4
                  WHERE broadcast_id = $1 AND sequence < $4",
                params![broadcast_id.clone(), reason.clone(), at, sequence],
            );
            step(
                out,
                Step {
                    broadcast_id: &broadcast_id,
                    sequence,
                    step: "returned",
                    version,
                    title: None,
                    text: None,
                    reason: Some(reason),
                    by: serde_json::to_value(&by).unwrap_or_default(),
                    at,
                },
            );
        }
        MessagingEvent::BroadcastPublished {
            broadcast_id,
            municipality,
            version,
            title,
            text,
            professions,
            by,
        } => {
            let by = serde_json::to_value(&by).unwrap_or_default();
            out.push(
                "INSERT INTO broadcasts (broadcast_id, municipality, status, version, title, text,
                                         professions, published_at, published_by, updated_at,
                                         sequence)
                 VALUES ($1, $2, 'published', $3, $4, $5, $6, $7, $8, $7, $9)
                 ON CONFLICT (broadcast_id) DO UPDATE
                    SET status = 'published', version = EXCLUDED.version, title = EXCLUDED.title,
                        text = EXCLUDED.text, professions = EXCLUDED.professions,
                        returned_reason = NULL, published_at = EXCLUDED.published_at,
                        published_by = EXCLUDED.published_by, updated_at = EXCLUDED.updated_at,
                        sequence = EXCLUDED.sequence
                  WHERE broadcasts.sequence < EXCLUDED.sequence",
                params![
                    broadcast_id.clone(),
                    municipality,
                    i32::try_from(version).unwrap_or(i32::MAX),
                    title.clone(),
                    text.clone(),
                    serde_json::to_value(&professions).unwrap_or_default(),
                    at,
                    by.clone(),
                    sequence
                ],
            );
            step(
                out,
                Step {
                    broadcast_id: &broadcast_id,
                    sequence,
                    step: "published",
                    version,
                    title: Some(title),
                    text: Some(text),
                    reason: None,
                    by,
                    at,
                },
            );
        }
        // The timeline's and the boards' own projections keep these.
        MessagingEvent::PostCreated { .. }
        | MessagingEvent::PostEdited { .. }
        | MessagingEvent::PostRetracted { .. }
        | MessagingEvent::PostRead { .. }
        | MessagingEvent::PostAcknowledged { .. }
        | MessagingEvent::BoardOpened { .. }
        | MessagingEvent::BoardPostCreated { .. }
        | MessagingEvent::BoardPostPinned { .. }
        | MessagingEvent::ConsultationOpened { .. }
        | MessagingEvent::ConsultationAnswered { .. }
        | MessagingEvent::ConsultationAssigned { .. }
        | MessagingEvent::ConsultationClosed { .. } => {}
    }
    Ok(())
}
