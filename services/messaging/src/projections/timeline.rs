//! The timeline: every post, by patient, newest first.

use deadpool_postgres::Transaction;
use event_store::{EventContract, RecordedEvent};
use messaging_api::events::MessagingEvent;
use projection_runner::{ApplyError, Migration, Projection, Statements, params};

/// The projection (schema `timeline`).
#[derive(Debug, Default)]
pub struct Timeline;

/// Its schema name.
pub const SCHEMA: &str = "timeline";

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "0001_posts",
        sql: include_str!("../../migrations/timeline_0001.sql"),
    },
    Migration {
        version: "0002_receipts",
        sql: include_str!("../../migrations/timeline_0002.sql"),
    },
    Migration {
        version: "0003_threads",
        sql: include_str!("../../migrations/timeline_0003.sql"),
    },
];

impl Projection for Timeline {
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
        &["posts", "receipts"]
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

fn write(event: &RecordedEvent, out: &mut Statements) -> Result<(), ApplyError> {
    let env = &event.envelope;
    let sequence = i64::try_from(event.position.sequence).unwrap_or(i64::MAX);
    match MessagingEvent::decode(&env.event_type, env.schema_version, env.payload.clone())? {
        MessagingEvent::PostCreated {
            post_id,
            patient_id,
            author,
            category,
            urgent,
            reply_requested,
            text_sealed,
            reply_to,
        } => out.push(
            "INSERT INTO posts (post_id, patient_id, author_member_id, author_name, author_profession,
                                author_site_id, author_site_name, category, urgent, reply_requested,
                                text_sealed, posted_at, sequence, reply_to)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            params![
                post_id,
                patient_id,
                author.member_id,
                author.name,
                author.profession,
                author.site_id,
                author.site_name,
                category.as_str().to_owned(),
                urgent,
                reply_requested,
                text_sealed,
                env.occurred_at,
                sequence,
                reply_to
            ],
        ),
        // A read once recorded stays; reading again changes nothing.
        MessagingEvent::PostRead {
            post_id, reader, ..
        } => out.push(
            "INSERT INTO receipts (post_id, member_id, name, profession, site_name, read_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (post_id, member_id) DO NOTHING",
            params![
                post_id,
                reader.member_id,
                reader.name,
                reader.profession,
                reader.site_name,
                env.occurred_at
            ],
        ),
        // An acknowledgement is a read too; the first one counts.
        MessagingEvent::PostAcknowledged {
            post_id, reader, ..
        } => out.push(
            "INSERT INTO receipts (post_id, member_id, name, profession, site_name, read_at, acknowledged_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (post_id, member_id)
             DO UPDATE SET acknowledged_at = COALESCE(receipts.acknowledged_at, EXCLUDED.acknowledged_at)",
            params![
                post_id,
                reader.member_id,
                reader.name,
                reader.profession,
                reader.site_name,
                env.occurred_at
            ],
        ),
    }
    Ok(())
}
