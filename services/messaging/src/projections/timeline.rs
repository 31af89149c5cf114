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
    Migration {
        version: "0004_edits",
        sql: include_str!("../../migrations/timeline_0004.sql"),
    },
    Migration {
        version: "0005_search",
        sql: include_str!("../../migrations/timeline_0005.sql"),
    },
    Migration {
        version: "0006_mentions",
        sql: include_str!("../../migrations/timeline_0006.sql"),
    },
    Migration {
        version: "0007_attachments",
        sql: include_str!("../../migrations/timeline_0007.sql"),
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
        &["posts", "receipts", "post_versions", "post_terms"]
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

/// A post's keyed search terms, each once.
fn index(out: &mut Statements, post_id: &str, terms: Vec<i64>) {
    if terms.is_empty() {
        return;
    }
    out.push(
        "INSERT INTO post_terms (term, post_id) SELECT unnest($1::bigint[]), $2
         ON CONFLICT DO NOTHING",
        params![terms, post_id.to_owned()],
    );
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
            terms,
            mentions,
            attachments,
        } => {
            let mentions = serde_json::to_value(&mentions).unwrap_or_default();
            let attachments = serde_json::to_value(&attachments).unwrap_or_default();
            out.push(
            "INSERT INTO posts (post_id, patient_id, author_member_id, author_name, author_profession,
                                author_site_id, author_site_name, category, urgent, reply_requested,
                                text_sealed, posted_at, sequence, reply_to, mentions, attachments)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            params![
                post_id.clone(),
                patient_id,
                author.member_id.clone(),
                author.name.clone(),
                author.profession.clone(),
                author.site_id,
                author.site_name.clone(),
                category.as_str().to_owned(),
                urgent,
                reply_requested,
                text_sealed.clone(),
                env.occurred_at,
                sequence,
                reply_to,
                mentions,
                attachments
            ],
        );
            index(out, &post_id, terms);
            // …and its first text, in its history.
            out.push(
                "INSERT INTO post_versions (post_id, version, text_sealed, written_at, member_id,
                                            name, profession, site_name)
                 VALUES ($1, 1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (post_id, version) DO NOTHING",
                params![
                    post_id,
                    text_sealed,
                    env.occurred_at,
                    author.member_id,
                    author.name,
                    author.profession,
                    author.site_name
                ],
            );
        }
        // The latest text shows; every text stays in the history.
        MessagingEvent::PostEdited {
            post_id,
            editor,
            version,
            text_sealed,
            terms,
            ..
        } => {
            // Found by what it says now: the earlier text's terms go.
            out.push(
                "DELETE FROM post_terms WHERE post_id = $1",
                params![post_id.clone()],
            );
            index(out, &post_id, terms);
            let version = i32::try_from(version).unwrap_or(i32::MAX);
            out.push(
                "UPDATE posts SET text_sealed = $2, version = $3, edited_at = $4, sequence = $5
                  WHERE post_id = $1 AND version < $3",
                params![post_id.clone(), text_sealed.clone(), version, env.occurred_at, sequence],
            );
            out.push(
                "INSERT INTO post_versions (post_id, version, text_sealed, written_at, member_id,
                                            name, profession, site_name)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (post_id, version) DO NOTHING",
                params![
                    post_id,
                    version,
                    text_sealed,
                    env.occurred_at,
                    editor.member_id,
                    editor.name,
                    editor.profession,
                    editor.site_name
                ],
            );
        }
        // The first withdrawal counts; the post and its texts stay, found by no search.
        MessagingEvent::PostRetracted {
            post_id,
            by,
            reason_sealed,
            ..
        } => {
            out.push(
                "DELETE FROM post_terms WHERE post_id = $1",
                params![post_id.clone()],
            );
            out.push(
            "UPDATE posts SET retracted_at = $2, retracted_by_member_id = $3, retracted_by_name = $4,
                              retracted_by_profession = $5, retracted_by_site_name = $6,
                              retraction_reason_sealed = $7, sequence = $8
              WHERE post_id = $1 AND retracted_at IS NULL",
            params![
                post_id,
                env.occurred_at,
                by.member_id,
                by.name,
                by.profession,
                by.site_name,
                reason_sealed,
                sequence
            ],
        );
        }
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
        // The boards' and the broadcasts' own projections keep these.
        MessagingEvent::BoardOpened { .. }
        | MessagingEvent::BoardPostCreated { .. }
        | MessagingEvent::BoardPostPinned { .. }
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
