//! The boards: each board with its audience, and its posts newest first, the pinned ones
//! marked.

use deadpool_postgres::Transaction;
use event_store::{EventContract, RecordedEvent};
use messaging_api::events::MessagingEvent;
use projection_runner::{ApplyError, Migration, Projection, Statements, params};

/// The projection (schema `boards`).
#[derive(Debug, Default)]
pub struct Boards;

/// Its schema name.
pub const SCHEMA: &str = "boards";

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "0001_boards",
        sql: include_str!("../../migrations/boards_0001.sql"),
    },
    Migration {
        version: "0002_board_search",
        sql: include_str!("../../migrations/boards_0002.sql"),
    },
];

impl Projection for Boards {
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
        &["boards", "board_posts"]
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
        MessagingEvent::BoardOpened {
            board_id,
            name,
            description,
            municipality,
            professions,
            sites,
            fire_and_police,
            opened_by,
        } => out.push(
            "INSERT INTO boards (board_id, name, description, municipality, professions, sites,
                                 opened_at, opened_by, fire_and_police)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (board_id) DO NOTHING",
            params![
                board_id,
                name,
                description,
                municipality,
                serde_json::to_value(&professions).unwrap_or_default(),
                serde_json::to_value(&sites).unwrap_or_default(),
                env.occurred_at,
                serde_json::to_value(&opened_by).unwrap_or_default(),
                fire_and_police
            ],
        ),
        MessagingEvent::BoardPostCreated {
            post_id,
            board_id,
            author,
            kind,
            text,
            reply_to,
        } => out.push(
            "INSERT INTO board_posts (post_id, board_id, kind, text, author_member_id, author_name,
                                      author_profession, author_site_name, posted_at, reply_to,
                                      sequence, terms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (post_id) DO NOTHING",
            params![
                post_id,
                board_id,
                kind,
                text.clone(),
                author.member_id,
                author.name,
                author.profession,
                author.site_name,
                env.occurred_at,
                reply_to,
                sequence,
                japanese::search::bigrams(&text)
            ],
        ),
        // The latest pin counts: pinned from when it was pinned, or not at all.
        MessagingEvent::BoardPostPinned {
            post_id, pinned, ..
        } => out.push(
            "UPDATE board_posts
                SET pinned_at = CASE WHEN $2 THEN $3::timestamptz END, sequence = $4
              WHERE post_id = $1",
            params![post_id, pinned, env.occurred_at, sequence],
        ),
        // The timeline's and the broadcasts' own projections keep these.
        MessagingEvent::PostCreated { .. }
        | MessagingEvent::PostEdited { .. }
        | MessagingEvent::PostRetracted { .. }
        | MessagingEvent::PostRead { .. }
        | MessagingEvent::PostAcknowledged { .. }
        | MessagingEvent::BroadcastSubmitted { .. }
        | MessagingEvent::BroadcastReturned { .. }
        | MessagingEvent::BroadcastPublished { .. }
        | MessagingEvent::ConsultationOpened { .. }
        | MessagingEvent::ConsultationAnswered { .. }
        | MessagingEvent::ConsultationAssigned { .. }
        | MessagingEvent::ConsultationClosed { .. } => {}
    }
    Ok(())
}
