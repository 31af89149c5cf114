//! Bus endpoints. A post is checked (pure), then decided, recorded and sealed by identity &
//! consent, then appended as one event; a timeline page is read from the projection, then
//! decided, recorded and opened by identity & consent before anything leaves.

use std::time::Duration;

use bus::{BusClient, CallContext, Incoming, Reply};
use clock::SharedClock;
use consent::{DataCategory, Purpose};
use deadpool_postgres::Pool;
use event_store::{
    Actor, AppendError, EventContract, EventEnvelope, EventStore, ExpectedVersion, JetStreamStore,
    Visibility,
};
use identity_api::patient_access::{
    AccessAsked, PATIENT_ACCESS, PatientAccess, PatientAccessAnswer, SealedText,
};
use messaging_api::endpoints as ep;
use messaging_api::events::{MessagingEvent, POST_TEXT, PostAuthor};
use messaging_api::timeline::{
    CreatePost, PostAuthorView, PostView, Posted, ReadTimeline, TimelinePage,
};
use messaging_api::{CONTEXT, aggregates};
use problem::Problem;
use uuid::Uuid;

use crate::domain::post;
use crate::projections::timeline;

/// The service: its stream, its database, and the bus to identity & consent.
pub struct Messaging {
    pub store: JetStreamStore,
    pub pool: Pool,
    pub bus: BusClient,
    pub clock: SharedClock,
    pub read_wait: Duration,
}

impl host::Service for Messaging {
    async fn handle(
        self: std::sync::Arc<Self>,
        endpoint: &'static str,
        incoming: Incoming,
    ) -> Result<Reply, Problem> {
        let ctx = &incoming.ctx;
        match endpoint {
            ep::CREATE_POST => self.create_post(ctx, incoming.json()?).await,
            ep::READ_TIMELINE => self.read_timeline(ctx, incoming.json()?).await,
            _ => Err(Problem::not_found("no such endpoint")),
        }
    }
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

fn db_problem(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "database failure");
    Problem::unavailable("the database is unavailable; try again")
}

/// A patient id: a UUID in its lower-case form; anything else names no patient (as identity
/// answers it).
fn patient_id(value: &str) -> Result<String, Problem> {
    match Uuid::try_parse(value) {
        Ok(id) if value.len() == 36 => Ok(id.to_string()),
        _ => Err(Problem::not_found("no such patient")),
    }
}

impl Messaging {
    /// Asks identity & consent: decided, recorded, sealed or opened — or its refusal, as is.
    async fn access(
        &self,
        ctx: &CallContext,
        asked: PatientAccess,
    ) -> Result<PatientAccessAnswer, Problem> {
        match self
            .bus
            .call(identity_api::SERVICE, PATIENT_ACCESS, ctx, &asked)
            .await
        {
            Reply::Ok { value, .. } => serde_json::from_value(value).map_err(|e| {
                tracing::error!(error = %e, "identity's answer does not read");
                Problem::internal()
            }),
            Reply::Problem(p) => Err(p),
        }
    }

    async fn create_post(&self, ctx: &CallContext, c: CreatePost) -> Result<Reply, Problem> {
        let patient_id = patient_id(&c.patient_id)?;
        let post = post::checked(c.post).map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        let post_id = Uuid::now_v7().to_string();
        let answer = self
            .access(
                ctx,
                PatientAccess {
                    patient_id: patient_id.clone(),
                    asked: AccessAsked::Write {
                        category: post.category,
                    },
                    purpose: post.purpose,
                    resources: vec![format!("post:{post_id}")],
                    route: format!("{}.{}", messaging_api::SERVICE, ep::CREATE_POST),
                    context: POST_TEXT.to_owned(),
                    seal: vec![post.text],
                    open: Vec::new(),
                },
            )
            .await?;
        let Some(text_sealed) = answer.sealed.into_iter().next() else {
            return Err(Problem::internal());
        };
        let author = answer.author;
        let event = MessagingEvent::PostCreated {
            post_id: post_id.clone(),
            patient_id,
            author: PostAuthor {
                member_id: author.member_id,
                name: author.name,
                profession: author.profession,
                site_id: author.site_id,
                site_name: author.site_name,
            },
            category: post.category,
            urgent: post.urgent,
            reply_requested: post.reply_requested,
            text_sealed,
        };
        let envelope = EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: event.event_type().to_owned(),
            schema_version: MessagingEvent::current_version(event.event_type()).unwrap_or(1),
            visibility: Visibility::Patient,
            municipality: answer.home_municipality,
            aggregate_type: aggregates::POST.to_owned(),
            aggregate_id: post_id.clone(),
            occurred_at: self.clock.now(),
            actor: Actor(ctx.actor.clone()),
            correlation_id: ctx.correlation_id,
            causation_id: None,
            traceparent: telemetry::current_traceparent(),
            payload: event.to_payload(),
        };
        let appended = self
            .store
            .append(CONTEXT, ExpectedVersion::NoStream, envelope)
            .await
            .map_err(|e| match e {
                AppendError::Conflict { .. } => {
                    Problem::conflict("concurrent-change", "this post already exists")
                }
                AppendError::Refused(reason) => {
                    Problem::new(422, "refused", "The post was refused").with_detail(reason)
                }
                e @ AppendError::Unavailable(_) => {
                    tracing::error!(error = %e, "the event store is unavailable");
                    Problem::unavailable("the event store is unavailable; try again")
                }
            })?;
        Ok(Reply::written(Posted { post_id }, appended.position))
    }

    /// Waits until the timeline has applied the position the caller last wrote, if asked.
    async fn caught_up(&self, ctx: &CallContext) -> Result<(), Problem> {
        let Some(position) = &ctx.min_position else {
            return Ok(());
        };
        if position.stream != self.store.stream_name(CONTEXT) {
            return Ok(());
        }
        projection_runner::wait_for_position(
            &self.pool,
            timeline::SCHEMA,
            position.sequence,
            self.read_wait,
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            projection_runner::RunnerError::Lagging { .. } => {
                Problem::timeout("the timeline has not caught up yet; try again")
            }
            other => db_problem(other),
        })
    }

    async fn read_timeline(&self, ctx: &CallContext, q: ReadTimeline) -> Result<Reply, Problem> {
        let patient_id = patient_id(&q.patient_id)?;
        let limit = match q.limit.unwrap_or(DEFAULT_PAGE) {
            n @ 1..=MAX_PAGE => n,
            _ => {
                return Err(Problem::invalid_field(
                    "/limit",
                    format!("a page holds 1 to {MAX_PAGE} posts"),
                ));
            }
        };
        let after = match q.after.as_deref().map(Uuid::try_parse) {
            None => None,
            Some(Ok(id)) => Some(id.to_string()),
            Some(Err(_)) => {
                return Err(Problem::invalid_field("/after", "a post id (a UUID)"));
            }
        };
        if !matches!(q.purpose, Purpose::Care | Purpose::Emergency) {
            return Err(Problem::invalid_field(
                "/purpose",
                "a timeline is read for care, or in an emergency",
            ));
        }
        self.caught_up(ctx).await?;
        let rows = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query(
                "SELECT post_id, author_member_id, author_name, author_profession, author_site_name,
                        category, urgent, reply_requested, text_sealed, posted_at
                   FROM timeline.posts
                  WHERE patient_id = $1 AND ($2::text IS NULL OR post_id < $2)
                  ORDER BY post_id DESC
                  LIMIT $3",
                &[&patient_id, &after, &(i64::from(limit) + 1)],
            )
            .await
            .map_err(db_problem)?;
        let more = rows.len() > limit as usize;
        let rows = &rows[..rows.len().min(limit as usize)];
        let category = |row: &tokio_postgres::Row| {
            let text: &str = row.get(5);
            DataCategory::ALL
                .iter()
                .copied()
                .find(|c| c.as_str() == text)
                .unwrap_or(DataCategory::CareRecords)
        };
        // Decided (and recorded) before any of it leaves: a page asks for every category;
        // identity opens the texts of those the consent covers for this member, and only those.
        let answer = self
            .access(
                ctx,
                PatientAccess {
                    patient_id: patient_id.clone(),
                    asked: AccessAsked::Read {
                        categories: DataCategory::ALL.to_vec(),
                    },
                    purpose: q.purpose,
                    resources: std::iter::once("timeline".to_owned())
                        .chain(
                            rows.iter()
                                .map(|r| format!("post:{}", r.get::<_, String>(0))),
                        )
                        .collect(),
                    route: format!("{}.{}", messaging_api::SERVICE, ep::READ_TIMELINE),
                    context: POST_TEXT.to_owned(),
                    seal: Vec::new(),
                    open: rows
                        .iter()
                        .map(|r| SealedText {
                            category: category(r),
                            sealed: r.get(8),
                        })
                        .collect(),
                },
            )
            .await?;
        let items: Vec<PostView> = rows
            .iter()
            .zip(answer.opened)
            .filter(|(row, _)| answer.categories.contains(&category(row)))
            .map(|(row, text)| PostView {
                post_id: row.get(0),
                author: PostAuthorView {
                    member_id: row.get(1),
                    name: row.get(2),
                    profession: row.get(3),
                    site_name: row.get(4),
                },
                category: category(row),
                urgent: row.get(6),
                reply_requested: row.get(7),
                text,
                posted_at: row.get(9),
            })
            .collect();
        let next_after = more
            .then(|| rows.last().map(|r| r.get::<_, String>(0)))
            .flatten();
        Ok(Reply::value(TimelinePage { items, next_after }))
    }
}
