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
    CreatePost, PostAuthorView, PostView, Posted, ReadTimeline, ReaderView, Receipt, RecordReceipt,
    TimelinePage,
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
            ep::RECORD_RECEIPT => self.record_receipt(ctx, incoming.json()?).await,
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

/// The category a stored post names (the projection writes only known ones).
fn category_named(text: &str) -> Option<DataCategory> {
    DataCategory::ALL
        .iter()
        .copied()
        .find(|c| c.as_str() == text)
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

    /// Appends one event about a patient's timeline (patient data of their home municipality).
    async fn append(
        &self,
        ctx: &CallContext,
        aggregate_type: &str,
        id: &str,
        expected: ExpectedVersion,
        event: MessagingEvent,
        municipality: Option<String>,
    ) -> Result<event_store::Position, Problem> {
        let envelope = EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: event.event_type().to_owned(),
            schema_version: MessagingEvent::current_version(event.event_type()).unwrap_or(1),
            visibility: Visibility::Patient,
            municipality,
            aggregate_type: aggregate_type.to_owned(),
            aggregate_id: id.to_owned(),
            occurred_at: self.clock.now(),
            actor: Actor(ctx.actor.clone()),
            correlation_id: ctx.correlation_id,
            causation_id: None,
            traceparent: telemetry::current_traceparent(),
            payload: event.to_payload(),
        };
        self.store
            .append(CONTEXT, expected, envelope)
            .await
            .map(|appended| appended.position)
            .map_err(|e| match e {
                AppendError::Conflict { .. } => Problem::conflict(
                    "concurrent-change",
                    "someone else changed this at the same time; try again",
                ),
                AppendError::Refused(reason) => {
                    Problem::new(422, "refused", "The change was refused").with_detail(reason)
                }
                e @ AppendError::Unavailable(_) => {
                    tracing::error!(error = %e, "the event store is unavailable");
                    Problem::unavailable("the event store is unavailable; try again")
                }
            })
    }

    async fn create_post(&self, ctx: &CallContext, c: CreatePost) -> Result<Reply, Problem> {
        let patient_id = patient_id(&c.patient_id)?;
        let post = post::checked(c.post).map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        // A reply joins the thread of the post it answers, on this patient's timeline only.
        let thread = match &post.reply_to {
            None => None,
            Some(parent) => {
                let find = || async {
                    self.pool
                        .get()
                        .await
                        .map_err(db_problem)?
                        .query_opt(
                            "SELECT coalesce(reply_to, post_id) FROM timeline.posts
                              WHERE post_id = $1 AND patient_id = $2",
                            &[parent, &patient_id],
                        )
                        .await
                        .map_err(db_problem)
                };
                let mut row = find().await?;
                if row.is_none() {
                    // Perhaps posted a moment ago: once the timeline has every stored event,
                    // ask again.
                    self.settled().await?;
                    row = find().await?;
                }
                match row {
                    Some(row) => Some(row.get::<_, String>(0)),
                    None => {
                        return Err(Problem::invalid_field(
                            "/reply_to",
                            "no post on this patient's timeline has this id",
                        ));
                    }
                }
            }
        };
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
                    roster: false,
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
            reply_to: thread,
        };
        let position = self
            .append(
                ctx,
                aggregates::POST,
                &post_id,
                ExpectedVersion::NoStream,
                event,
                answer.home_municipality,
            )
            .await?;
        Ok(Reply::written(Posted { post_id }, position))
    }

    /// Waits until the timeline has applied every event stored so far.
    async fn settled(&self) -> Result<(), Problem> {
        let last = self.store.last_sequence(CONTEXT).await.map_err(|e| {
            tracing::error!(error = %e, "the event store is unavailable");
            Problem::unavailable("the event store is unavailable; try again")
        })?;
        self.applied(last).await
    }

    /// Waits (at most the read wait) until the timeline has applied `sequence`.
    async fn applied(&self, sequence: u64) -> Result<(), Problem> {
        projection_runner::wait_for_position(&self.pool, timeline::SCHEMA, sequence, self.read_wait)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                projection_runner::RunnerError::Lagging { .. } => {
                    Problem::timeout("the timeline has not caught up yet; try again")
                }
                other => db_problem(other),
            })
    }

    /// Waits until the timeline has applied the position the caller last wrote, if asked.
    async fn caught_up(&self, ctx: &CallContext) -> Result<(), Problem> {
        let Some(position) = &ctx.min_position else {
            return Ok(());
        };
        if position.stream != self.store.stream_name(CONTEXT) {
            return Ok(());
        }
        self.applied(position.sequence).await
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
                        category, urgent, reply_requested, text_sealed, posted_at, reply_to
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
            category_named(row.get(5)).unwrap_or(DataCategory::CareRecords)
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
                    roster: true,
                },
            )
            .await?;
        let me = ctx
            .caller
            .as_ref()
            .map(|c| c.member_id.clone())
            .unwrap_or_else(|| ctx.actor.clone());
        let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let receipts = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query(
                "SELECT post_id, member_id, name, profession, site_name, read_at, acknowledged_at
                   FROM timeline.receipts WHERE post_id = ANY($1)
                  ORDER BY read_at, member_id",
                &[&ids],
            )
            .await
            .map_err(db_problem)?;
        let readers_of = |post_id: &str| -> Vec<ReaderView> {
            receipts
                .iter()
                .filter(|r| r.get::<_, &str>(0) == post_id)
                .map(|r| ReaderView {
                    member_id: r.get(1),
                    name: r.get(2),
                    profession: r.get(3),
                    site_name: r.get(4),
                    read_at: r.get(5),
                    acknowledged: r
                        .get::<_, Option<chrono::DateTime<chrono::Utc>>>(6)
                        .is_some(),
                })
                .collect()
        };
        let items: Vec<PostView> = rows
            .iter()
            .zip(answer.opened)
            .filter(|(row, _)| answer.categories.contains(&category(row)))
            .map(|(row, text)| {
                let post_id: String = row.get(0);
                let author: String = row.get(1);
                let readers = readers_of(&post_id);
                let mine = author == me;
                let my_receipt = readers.iter().find(|r| r.member_id == me);
                let unread = answer
                    .team
                    .iter()
                    .filter(|m| m.member_id != author)
                    .filter(|m| !readers.iter().any(|r| r.member_id == m.member_id))
                    .map(|m| PostAuthorView {
                        member_id: m.member_id.clone(),
                        name: m.name.clone(),
                        profession: m.profession.clone(),
                        site_name: m.site_name.clone(),
                    })
                    .collect();
                PostView {
                    author: PostAuthorView {
                        member_id: author.clone(),
                        name: row.get(2),
                        profession: row.get(3),
                        site_name: row.get(4),
                    },
                    category: category(row),
                    urgent: row.get(6),
                    reply_requested: row.get(7),
                    text,
                    posted_at: row.get(9),
                    reply_to: row.get(10),
                    mine,
                    read_by_me: mine || my_receipt.is_some(),
                    acknowledged_by_me: my_receipt.is_some_and(|r| r.acknowledged),
                    readers,
                    unread,
                    post_id,
                }
            })
            .collect();
        let next_after = more
            .then(|| rows.last().map(|r| r.get::<_, String>(0)))
            .flatten();
        Ok(Reply::value(TimelinePage { items, next_after }))
    }

    /// A member read a post, or acknowledged it: decided as a read of the post's category
    /// (an unknown post as a read of every category, then answered 404: its absence tells
    /// nothing either way), recorded, then stored once.
    async fn record_receipt(&self, ctx: &CallContext, c: RecordReceipt) -> Result<Reply, Problem> {
        let patient_id = patient_id(&c.patient_id)?;
        let post_id = Uuid::try_parse(&c.post_id)
            .map(|id| id.to_string())
            .map_err(|_| Problem::not_found("no such post"))?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let find = || async {
            client
                .query_opt(
                    "SELECT category FROM timeline.posts WHERE post_id = $1 AND patient_id = $2",
                    &[&post_id, &patient_id],
                )
                .await
                .map_err(db_problem)
        };
        let mut post = find().await?;
        if post.is_none() {
            // Perhaps posted a moment ago: ask again once the timeline has every event.
            self.settled().await?;
            post = find().await?;
        }
        let category = post.as_ref().and_then(|r| category_named(r.get(0)));
        let answer = self
            .access(
                ctx,
                PatientAccess {
                    patient_id: patient_id.clone(),
                    asked: AccessAsked::Read {
                        categories: category
                            .map_or_else(|| DataCategory::ALL.to_vec(), |c| vec![c]),
                    },
                    purpose: Purpose::Care,
                    resources: vec![format!("post:{post_id}")],
                    route: format!("{}.{}", messaging_api::SERVICE, ep::RECORD_RECEIPT),
                    context: POST_TEXT.to_owned(),
                    seal: Vec::new(),
                    open: Vec::new(),
                    roster: false,
                },
            )
            .await?;
        if category.is_none() {
            return Err(Problem::not_found("no such post"));
        }
        let reader = answer.author;
        let held = client
            .query_opt(
                "SELECT acknowledged_at IS NOT NULL FROM timeline.receipts
                  WHERE post_id = $1 AND member_id = $2",
                &[&post_id, &reader.member_id],
            )
            .await
            .map_err(db_problem)?
            .map(|r| r.get::<_, bool>(0));
        let receipt = |acknowledged| Receipt {
            post_id: post_id.clone(),
            read: true,
            acknowledged,
        };
        // Asking for what already holds records nothing.
        match held {
            Some(true) => return Ok(Reply::value(receipt(true))),
            Some(false) if !c.acknowledged => return Ok(Reply::value(receipt(false))),
            _ => {}
        }
        let reader = PostAuthor {
            member_id: reader.member_id,
            name: reader.name,
            profession: reader.profession,
            site_id: reader.site_id,
            site_name: reader.site_name,
        };
        let receipt_id = format!("{post_id}_{}", reader.member_id);
        let event = if c.acknowledged {
            MessagingEvent::PostAcknowledged {
                post_id: post_id.clone(),
                patient_id,
                reader,
            }
        } else {
            MessagingEvent::PostRead {
                post_id: post_id.clone(),
                patient_id,
                reader,
            }
        };
        let position = self
            .append(
                ctx,
                aggregates::RECEIPT,
                &receipt_id,
                ExpectedVersion::Any,
                event,
                answer.home_municipality,
            )
            .await?;
        Ok(Reply::written(receipt(c.acknowledged), position))
    }
}
