//! The consultations: each as it stands (open or closed, assigned or not) and its messages in
//! order.

use deadpool_postgres::Transaction;
use event_store::{EventContract, RecordedEvent};
use messaging_api::events::MessagingEvent;
use projection_runner::{ApplyError, Migration, Projection, Statements, params};

/// The projection (schema `consultations`).
#[derive(Debug, Default)]
pub struct Consultations;

/// Its schema name.
pub const SCHEMA: &str = "consultations";

const MIGRATIONS: &[Migration] = &[Migration {
    version: "0001_consultations",
    sql: include_str!("../../migrations/consultations_0001.sql"),
}];

impl Projection for Consultations {
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
        &["consultations", "consultation_messages"]
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

fn message(
    out: &mut Statements,
    consultation_id: String,
    sequence: i64,
    text: String,
    by: serde_json::Value,
    from_centre: bool,
    at: chrono::DateTime<chrono::Utc>,
) {
    out.push(
        "INSERT INTO consultation_messages (consultation_id, sequence, text, by_member,
                                            from_centre, at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (consultation_id, sequence) DO NOTHING",
        params![consultation_id, sequence, text, by, from_centre, at],
    );
}

fn write(event: &RecordedEvent, out: &mut Statements) -> Result<(), ApplyError> {
    let env = &event.envelope;
    let at = env.occurred_at;
    let sequence = i64::try_from(event.position.sequence).unwrap_or(i64::MAX);
    match MessagingEvent::decode(&env.event_type, env.schema_version, env.payload.clone())? {
        MessagingEvent::ConsultationOpened {
            consultation_id,
            municipality,
            subject,
            text,
            patient_id,
            by,
        } => {
            let opener = by.member_id.clone();
            let by = serde_json::to_value(&by).unwrap_or_default();
            out.push(
                "INSERT INTO consultations (consultation_id, municipality, subject, patient_id,
                                            opened_by, opener_id, open, opened_at, updated_at,
                                            sequence)
                 VALUES ($1, $2, $3, $4, $5, $6, true, $7, $7, $8)
                 ON CONFLICT (consultation_id) DO NOTHING",
                params![
                    consultation_id.clone(),
                    municipality,
                    subject,
                    patient_id,
                    by.clone(),
                    opener,
                    at,
                    sequence
                ],
            );
            message(out, consultation_id, sequence, text, by, false, at);
        }
        MessagingEvent::ConsultationAnswered {
            consultation_id,
            text,
            by,
            from_centre,
        } => {
            out.push(
                "UPDATE consultations SET updated_at = $2, sequence = $3
                  WHERE consultation_id = $1 AND sequence < $3",
                params![consultation_id.clone(), at, sequence],
            );
            let by = serde_json::to_value(&by).unwrap_or_default();
            message(out, consultation_id, sequence, text, by, from_centre, at);
        }
        MessagingEvent::ConsultationAssigned {
            consultation_id,
            assignee,
            ..
        } => out.push(
            "UPDATE consultations SET assignee = $2, updated_at = $3, sequence = $4
              WHERE consultation_id = $1 AND sequence < $4",
            params![
                consultation_id,
                serde_json::to_value(&assignee).unwrap_or_default(),
                at,
                sequence
            ],
        ),
        MessagingEvent::ConsultationClosed {
            consultation_id, ..
        } => out.push(
            "UPDATE consultations SET open = false, updated_at = $2, sequence = $3
              WHERE consultation_id = $1 AND sequence < $3",
            params![consultation_id, at, sequence],
        ),
        // The other projections keep these.
        MessagingEvent::PostCreated { .. }
        | MessagingEvent::PostEdited { .. }
        | MessagingEvent::PostRetracted { .. }
        | MessagingEvent::PostRead { .. }
        | MessagingEvent::PostAcknowledged { .. }
        | MessagingEvent::BoardOpened { .. }
        | MessagingEvent::BoardPostCreated { .. }
        | MessagingEvent::BoardPostPinned { .. }
        | MessagingEvent::BroadcastSubmitted { .. }
        | MessagingEvent::BroadcastReturned { .. }
        | MessagingEvent::BroadcastPublished { .. } => {}
    }
    Ok(())
}
