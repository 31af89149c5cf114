//! Bus endpoints. A post is checked (pure), then decided, recorded and sealed by identity &
//! consent, then appended as one event; a timeline page is read from the projection, then
//! decided, recorded and opened by identity & consent before anything leaves.

use std::time::Duration;

use bus::{BusClient, CallContext, Incoming, Reply};
use clock::SharedClock;
use consent::{DataCategory, Purpose};
use deadpool_postgres::Pool;
use event_store::{ExpectedVersion, JetStreamStore, Visibility};
use identity_api::patient_access::{
    AccessAsked, PATIENT_ACCESS, PatientAccess, PatientAccessAnswer, SEARCH_TERMS, SealedText,
    SearchTerms, SearchTermsAnswer,
};
use messaging_api::endpoints as ep;
use messaging_api::events::{MessagingEvent, POST_TEXT, PostAttachment, PostAuthor};
use messaging_api::timeline::{
    AttachmentAllowed, AttachmentView, CreatePost, EditPost, Edited, OpenAttachment,
    PostAuthorView, PostHistory, PostVersionView, PostView, Posted, ReadPostHistory,
    ReadTeamPeople, ReadTimeline, ReaderView, Receipt, RecordReceipt, RetractPost, Retracted,
    RetractionView, SearchHit, SearchPage, SearchPosts, TeamPeople, TimelinePage,
};
use messaging_api::{CONTEXT, aggregates};
use permissions::Role;
use problem::Problem;
use uuid::Uuid;

use crate::domain::post;
use crate::projections::timeline;

mod boards;
mod broadcasts;
mod consultations;

/// The service: its stream, its database, and the bus to identity & consent.
pub struct Messaging {
    pub store: JetStreamStore,
    pub pool: Pool,
    pub bus: BusClient,
    /// The file store the gateway uploads to: what a post's files are, never their content.
    pub files: blob_store::BlobStore,
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
            ep::EDIT_POST => self.edit_post(ctx, incoming.json()?).await,
            ep::RETRACT_POST => self.retract_post(ctx, incoming.json()?).await,
            ep::POST_HISTORY => self.post_history(ctx, incoming.json()?).await,
            ep::SEARCH_POSTS => self.search_posts(ctx, incoming.json()?).await,
            ep::TEAM_PEOPLE => self.team_people(ctx, incoming.json()?).await,
            ep::OPEN_ATTACHMENT => self.open_attachment(ctx, incoming.json()?).await,
            ep::OPEN_BOARD => self.open_board(ctx, incoming.json()?).await,
            ep::LIST_BOARDS => self.list_boards(ctx, incoming.json()?).await,
            ep::READ_BOARD => self.read_board(ctx, incoming.json()?).await,
            ep::SEARCH_BOARDS => self.search_boards(ctx, incoming.json()?).await,
            ep::POST_TO_BOARD => self.post_to_board(ctx, incoming.json()?).await,
            ep::PIN_BOARD_POST => self.pin_board_post(ctx, incoming.json()?).await,
            ep::SEND_BROADCAST => self.send_broadcast(ctx, incoming.json()?).await,
            ep::REVIEW_BROADCAST => self.review_broadcast(ctx, incoming.json()?).await,
            ep::REVISE_BROADCAST => self.revise_broadcast(ctx, incoming.json()?).await,
            ep::RECEIVED_BROADCASTS => self.received_broadcasts(ctx, incoming.json()?).await,
            ep::BROADCAST_SUBMISSIONS => self.broadcast_submissions(ctx, incoming.json()?).await,
            ep::BROADCAST_HISTORY => self.broadcast_history(ctx, incoming.json()?).await,
            ep::OPEN_CONSULTATION => self.open_consultation(ctx, incoming.json()?).await,
            ep::LIST_CONSULTATIONS => self.list_consultations(ctx, incoming.json()?).await,
            ep::READ_CONSULTATION => self.read_consultation(ctx, incoming.json()?).await,
            ep::ANSWER_CONSULTATION => self.answer_consultation(ctx, incoming.json()?).await,
            ep::ASSIGN_CONSULTATION => self.assign_consultation(ctx, incoming.json()?).await,
            ep::CLOSE_CONSULTATION => self.close_consultation(ctx, incoming.json()?).await,
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

/// An id in a path: a UUID in its lower-case form; anything else names nothing, and is
/// answered as an id nobody has (`no such <what>`, as identity answers it).
fn path_id(value: &str, what: &str) -> Result<String, Problem> {
    match Uuid::try_parse(value) {
        Ok(id) if value.len() == 36 => Ok(id.to_string()),
        _ => Err(Problem::not_found(format!("no such {what}"))),
    }
}

fn patient_id(value: &str) -> Result<String, Problem> {
    path_id(value, "patient")
}

fn post_id(value: &str) -> Result<String, Problem> {
    path_id(value, "post")
}

/// A post's withdrawal from its row (the columns from `at`: when, by whom — id, name,
/// profession, site — and whether a sealed reason follows), taking its opened reason from
/// `reasons` when it has one.
fn retraction_of(
    row: &tokio_postgres::Row,
    at: usize,
    reasons: &mut impl Iterator<Item = Option<String>>,
) -> Option<RetractionView> {
    let retracted_at = row.get::<_, Option<chrono::DateTime<chrono::Utc>>>(at)?;
    let reason = match row.get::<_, Option<String>>(at + 5) {
        Some(_) => reasons.next().flatten(),
        None => None,
    };
    Some(RetractionView {
        retracted_at,
        retracted_by: PostAuthorView {
            member_id: row.get::<_, Option<String>>(at + 1).unwrap_or_default(),
            name: row.get::<_, Option<String>>(at + 2).unwrap_or_default(),
            profession: row.get(at + 3),
            site_name: row.get(at + 4),
        },
        reason,
    })
}

/// Someone as a view shows them: name, profession, site.
fn view_of(a: &PostAuthor) -> PostAuthorView {
    PostAuthorView {
        member_id: a.member_id.clone(),
        name: a.name.clone(),
        profession: a.profession.clone(),
        site_name: a.site_name.clone(),
    }
}

/// A page's size as asked: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] if not said.
fn page_limit(limit: Option<u32>) -> Result<u32, Problem> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(Problem::invalid_field(
            "/limit",
            format!("a page holds 1 to {MAX_PAGE}"),
        )),
    }
}

/// A page cut from rows fetched one beyond it (`limit + 1`), each keyed by the id in its
/// first column: the rows it holds, and where the next page starts if there is one.
fn cut(rows: &[tokio_postgres::Row], limit: u32) -> (&[tokio_postgres::Row], Option<String>) {
    let more = rows.len() > limit as usize;
    let page = &rows[..rows.len().min(limit as usize)];
    let next = more
        .then(|| page.last().map(|r| r.get::<_, String>(0)))
        .flatten();
    (page, next)
}

/// Nobody: where a stored person cannot be read (never written so; a view still shows a row).
fn nobody() -> PostAuthorView {
    PostAuthorView {
        member_id: String::new(),
        name: String::new(),
        profession: None,
        site_name: None,
    }
}

/// Someone as an event stored them (a JSON column), as a view shows them.
fn person_in(value: Option<serde_json::Value>) -> Option<PostAuthorView> {
    value
        .and_then(|v| serde_json::from_value::<PostAuthor>(v).ok())
        .as_ref()
        .map(view_of)
}

/// Where a page starts: an id the previous page gave.
fn after_id(after: Option<&str>) -> Result<Option<String>, Problem> {
    match after.map(Uuid::try_parse) {
        None => Ok(None),
        Some(Ok(id)) => Ok(Some(id.to_string())),
        Some(Err(_)) => Err(Problem::invalid_field(
            "/after",
            "an id from the previous page",
        )),
    }
}

/// A post's files as the team sees them, each with where to download it.
fn attachment_views(
    patient_id: &str,
    post_id: &str,
    stored: serde_json::Value,
) -> Vec<AttachmentView> {
    serde_json::from_value::<Vec<PostAttachment>>(stored)
        .unwrap_or_default()
        .into_iter()
        .map(|a| AttachmentView {
            href: format!(
                "/api/v1/patients/{patient_id}/posts/{post_id}/attachments/{}",
                a.sha256
            ),
            sha256: a.sha256,
            media_type: a.media_type,
            size: a.size,
        })
        .collect()
}

/// An access this service's `endpoint` asks for, recorded with `resources`: nothing to seal,
/// open, index or name unless the caller says so (`PatientAccess { seal, ..asking(…) }`).
fn asking(
    patient_id: String,
    asked: AccessAsked,
    purpose: Purpose,
    resources: Vec<String>,
    endpoint: &str,
) -> PatientAccess {
    PatientAccess {
        patient_id,
        asked,
        purpose,
        resources,
        route: format!("{}.{}", messaging_api::SERVICE, endpoint),
        context: POST_TEXT.to_owned(),
        seal: Vec::new(),
        open: Vec::new(),
        roster: false,
        index: Vec::new(),
        name: false,
    }
}

/// A post as edits and withdrawals find it.
struct Stored {
    category: DataCategory,
    standing: post::Standing,
    /// The stream sequence of its last event: an edit or withdrawal appends after it, or
    /// not at all.
    sequence: u64,
    retracted_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn author_of(a: identity_api::patient_access::Author) -> PostAuthor {
    PostAuthor {
        member_id: a.member_id,
        name: a.name,
        profession: a.profession,
        site_id: a.site_id,
        site_name: a.site_name,
    }
}

fn refused(r: post::Refused) -> Problem {
    match r {
        post::Refused::NotTheAuthor | post::Refused::NeitherAuthorNorSecretariat => {
            Problem::forbidden(r.to_string())
        }
        post::Refused::Withdrawn => Problem::conflict("post-withdrawn", r.to_string()),
        post::Refused::TooManyVersions => Problem::conflict("too-many-versions", r.to_string()),
        post::Refused::Invalid(i) => Problem::invalid_field(i.field, i.reason),
    }
}

impl Messaging {
    /// The post as it stands once the timeline holds every event stored so far (an edit or
    /// withdrawal must see the last one), or `None`: no such post on this patient's timeline.
    async fn stored(&self, patient_id: &str, post_id: &str) -> Result<Option<Stored>, Problem> {
        self.settled().await?;
        let row = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query_opt(
                "SELECT category, author_member_id, version, retracted_at, sequence
                   FROM timeline.posts WHERE post_id = $1 AND patient_id = $2",
                &[&post_id, &patient_id],
            )
            .await
            .map_err(db_problem)?;
        Ok(row.map(|r| {
            let retracted_at: Option<chrono::DateTime<chrono::Utc>> = r.get(3);
            Stored {
                category: category_named(r.get(0)).unwrap_or(DataCategory::CareRecords),
                standing: post::Standing {
                    author: r.get(1),
                    versions: u32::try_from(r.get::<_, i32>(2)).unwrap_or(0),
                    retracted: retracted_at.is_some(),
                },
                sequence: u64::try_from(r.get::<_, i64>(4)).unwrap_or(0),
                retracted_at,
            }
        }))
    }

    /// The id of the member asking (the operator's credential has none of its own).
    fn me(ctx: &CallContext) -> String {
        ctx.caller
            .as_ref()
            .map(|c| c.member_id.clone())
            .unwrap_or_else(|| ctx.actor.clone())
    }

    /// The asking member as colleagues know them (identity answers).
    async fn author(&self, ctx: &CallContext) -> Result<PostAuthor, Problem> {
        let author: identity_api::colleagues::Author = self
            .ask_identity(
                ctx,
                identity_api::colleagues::AUTHOR,
                &identity_api::colleagues::WhoAsks::default(),
            )
            .await?;
        Ok(author_of(author))
    }

    /// Asks identity & consent: decided, recorded, sealed or opened — or its refusal, as is.
    async fn access(
        &self,
        ctx: &CallContext,
        asked: PatientAccess,
    ) -> Result<PatientAccessAnswer, Problem> {
        self.ask_identity(ctx, PATIENT_ACCESS, &asked).await
    }

    /// One of identity's bus endpoints, its answer read as `A` — or its problem, as is.
    async fn ask_identity<Q: serde::Serialize, A: serde::de::DeserializeOwned>(
        &self,
        ctx: &CallContext,
        endpoint: &str,
        question: &Q,
    ) -> Result<A, Problem> {
        self.bus
            .ask(identity_api::SERVICE, endpoint, ctx, question)
            .await
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
    ) -> Result<(event_store::Position, chrono::DateTime<chrono::Utc>), Problem> {
        self.append_as(
            ctx,
            Visibility::Patient,
            aggregate_type,
            id,
            expected,
            event,
            municipality,
        )
        .await
    }

    /// Appends one event of this visibility (a board's: its municipality's, or the region's).
    #[allow(clippy::too_many_arguments)]
    async fn append_as(
        &self,
        ctx: &CallContext,
        visibility: Visibility,
        aggregate_type: &str,
        id: &str,
        expected: ExpectedVersion,
        event: MessagingEvent,
        municipality: Option<String>,
    ) -> Result<(event_store::Position, chrono::DateTime<chrono::Utc>), Problem> {
        host::events::append(
            &self.store,
            &self.clock,
            CONTEXT,
            ctx,
            host::events::Subject {
                visibility,
                municipality,
                aggregate_type,
                aggregate_id: id,
                expected,
            },
            event,
        )
        .await
    }

    async fn create_post(&self, ctx: &CallContext, c: CreatePost) -> Result<Reply, Problem> {
        let patient_id = patient_id(&c.patient_id)?;
        let post = post::checked(c.post).map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        // A reply joins the thread of the post it answers, on this patient's timeline only.
        let thread = match &post.reply_to {
            None => None,
            Some(parent) => {
                // Perhaps posted a moment ago: found once the timeline has every stored event.
                let row = self
                    .row_of(
                        timeline::SCHEMA,
                        "SELECT coalesce(reply_to, post_id) FROM timeline.posts
                          WHERE post_id = $1 AND patient_id = $2",
                        &[parent, &patient_id],
                    )
                    .await?;
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
        let attachments = self.attached(&post.attachments).await?;
        let post_id = Uuid::now_v7().to_string();
        let mentions = post.mentions.clone();
        let answer = self
            .access(
                ctx,
                PatientAccess {
                    index: japanese::search::bigrams(&post.text),
                    seal: vec![post.text],
                    roster: !mentions.is_empty(),
                    ..asking(
                        patient_id.clone(),
                        AccessAsked::Write {
                            category: post.category,
                        },
                        post.purpose,
                        vec![format!("post:{post_id}")],
                        ep::CREATE_POST,
                    )
                },
            )
            .await?;
        // Each mention names someone on the team now (another's id answers as an unknown one).
        let mentioned = mentions
            .iter()
            .enumerate()
            .map(|(i, id)| {
                answer
                    .team
                    .iter()
                    .find(|m| &m.member_id == id)
                    .map(|m| author_of(m.clone()))
                    .ok_or_else(|| {
                        Problem::invalid_field(
                            post::MENTION_FIELDS[i],
                            "no member of this patient's care team has this id",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
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
            terms: answer.indexed,
            mentions: mentioned,
            attachments,
        };
        let (position, _) = self
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

    /// Each file as the file store holds it (the gateway has seen that the caller holds it):
    /// its size and type as decided from its content, never as the client says.
    async fn attached(&self, digests: &[String]) -> Result<Vec<PostAttachment>, Problem> {
        let mut out = Vec::with_capacity(digests.len());
        for (i, digest) in digests.iter().enumerate() {
            let stored = self.files.describe(digest).await.map_err(|e| {
                tracing::error!(error = %e, "the file store is unavailable");
                Problem::unavailable("the file store is unavailable; try again")
            })?;
            let Some(stored) = stored else {
                return Err(Problem::invalid_field(
                    post::ATTACHMENT_FIELDS[i],
                    "no file you or your site uploaded has this digest",
                ));
            };
            out.push(PostAttachment {
                sha256: stored.sha256,
                media_type: stored.media_type,
                size: stored.size,
            });
        }
        Ok(out)
    }

    /// Waits until the timeline has applied every event stored so far.
    async fn settled(&self) -> Result<(), Problem> {
        self.settled_in(timeline::SCHEMA).await
    }

    /// Waits until the projection `schema` has applied every event stored so far.
    async fn settled_in(&self, schema: &str) -> Result<(), Problem> {
        let last = self.store.last_sequence(CONTEXT).await.map_err(|e| {
            tracing::error!(error = %e, "the event store is unavailable");
            Problem::unavailable("the event store is unavailable; try again")
        })?;
        self.applied_in(schema, last).await
    }

    /// The one row `sql` finds in projection `schema`; when there is none, again once the
    /// projection holds every event stored so far (what was written a moment ago is found,
    /// and an id nobody has costs one wait).
    async fn row_of(
        &self,
        schema: &str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, Problem> {
        let client = self.pool.get().await.map_err(db_problem)?;
        if let Some(row) = client.query_opt(sql, params).await.map_err(db_problem)? {
            return Ok(Some(row));
        }
        self.settled_in(schema).await?;
        client.query_opt(sql, params).await.map_err(db_problem)
    }

    /// Waits (at most the read wait) until the projection `schema` has applied `sequence`.
    async fn applied_in(&self, schema: &str, sequence: u64) -> Result<(), Problem> {
        host::events::applied(
            &self.pool,
            schema,
            sequence,
            self.read_wait,
            "the messages have not caught up yet; try again",
        )
        .await
    }

    /// Waits until the timeline has applied the position the caller last wrote, if asked.
    async fn caught_up(&self, ctx: &CallContext) -> Result<(), Problem> {
        self.caught_up_in(ctx, timeline::SCHEMA).await
    }

    /// Waits until the projection `schema` has applied the position the caller last wrote,
    /// if asked.
    async fn caught_up_in(&self, ctx: &CallContext, schema: &str) -> Result<(), Problem> {
        let Some(position) = &ctx.min_position else {
            return Ok(());
        };
        if position.stream != self.store.stream_name(CONTEXT) {
            return Ok(());
        }
        self.applied_in(schema, position.sequence).await
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
                        category, urgent, reply_requested, text_sealed, posted_at, reply_to,
                        edited_at, retracted_at, retracted_by_member_id, retracted_by_name,
                        retracted_by_profession, retracted_by_site_name, retraction_reason_sealed,
                        mentions, attachments
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
                    // Each post's text, then the reasons of those withdrawn with one.
                    open: rows
                        .iter()
                        .map(|r| SealedText {
                            category: category(r),
                            sealed: r.get(8),
                        })
                        .chain(rows.iter().filter_map(|r| {
                            Some(SealedText {
                                category: category(r),
                                sealed: r.get::<_, Option<String>>(17)?,
                            })
                        }))
                        .collect(),
                    roster: true,
                    ..asking(
                        patient_id.clone(),
                        AccessAsked::Read {
                            categories: DataCategory::ALL.to_vec(),
                        },
                        q.purpose,
                        std::iter::once("timeline".to_owned())
                            .chain(
                                rows.iter()
                                    .map(|r| format!("post:{}", r.get::<_, String>(0))),
                            )
                            .collect(),
                        ep::READ_TIMELINE,
                    )
                },
            )
            .await?;
        let me = Self::me(ctx);
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
        let mut opened = answer.opened.into_iter();
        let texts: Vec<Option<String>> = opened.by_ref().take(rows.len()).collect();
        let mut reasons = opened;
        let items: Vec<PostView> = rows
            .iter()
            .zip(texts)
            .filter(|(row, _)| answer.categories.contains(&category(row)))
            .map(|(row, text)| {
                let post_id: String = row.get(0);
                let author: String = row.get(1);
                let readers = readers_of(&post_id);
                let mine = author == me;
                let my_receipt = readers.iter().find(|r| r.member_id == me);
                let retraction = retraction_of(row, 12, &mut reasons);
                let mentions: Vec<PostAuthorView> =
                    serde_json::from_value::<Vec<PostAuthor>>(row.get(18))
                        .unwrap_or_default()
                        .into_iter()
                        .map(|m| PostAuthorView {
                            member_id: m.member_id,
                            name: m.name,
                            profession: m.profession,
                            site_name: m.site_name,
                        })
                        .collect();
                let attachments = if retraction.is_some() {
                    Vec::new()
                } else {
                    attachment_views(&patient_id, &post_id, row.get(19))
                };
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
                    // A withdrawn post shows that it was, and why; its text stays in its
                    // history.
                    text: text.filter(|_| retraction.is_none()),
                    posted_at: row.get(9),
                    reply_to: row.get(10),
                    edited_at: row.get(11),
                    retraction,
                    mentions_me: mentions.iter().any(|m| m.member_id == me),
                    mentions,
                    attachments,
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
        let post_id = post_id(&c.post_id)?;
        // Perhaps posted a moment ago: found once the timeline has every stored event.
        let post = self
            .row_of(
                timeline::SCHEMA,
                "SELECT category FROM timeline.posts WHERE post_id = $1 AND patient_id = $2",
                &[&post_id, &patient_id],
            )
            .await?;
        let category = post.as_ref().and_then(|r| category_named(r.get(0)));
        let answer = self
            .access(
                ctx,
                asking(
                    patient_id.clone(),
                    AccessAsked::Read {
                        categories: category
                            .map_or_else(|| DataCategory::ALL.to_vec(), |c| vec![c]),
                    },
                    Purpose::Care,
                    vec![format!("post:{post_id}")],
                    ep::RECORD_RECEIPT,
                ),
            )
            .await?;
        if category.is_none() {
            return Err(Problem::not_found("no such post"));
        }
        let reader = answer.author;
        let client = self.pool.get().await.map_err(db_problem)?;
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
        let (position, _) = self
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

    /// The author changes a post's text: decided as a write of its category (a post that
    /// is not theirs is refused after a recorded read decision, so its absence and its
    /// presence are told apart only to those who may read it), sealed, appended after the
    /// post's last event.
    async fn edit_post(&self, ctx: &CallContext, c: EditPost) -> Result<Reply, Problem> {
        let patient_id = patient_id(&c.patient_id)?;
        let post_id = post_id(&c.post_id)?;
        let stored = self.stored(&patient_id, &post_id).await?;
        let me = Self::me(ctx);
        let checked = stored
            .as_ref()
            .map(|s| post::edit(&s.standing, &me, &c.text));
        let mine = matches!(&checked, Some(Ok(_)) | Some(Err(post::Refused::Invalid(_))));
        let asked = match (&stored, mine) {
            (Some(s), true) => AccessAsked::Write {
                category: s.category,
            },
            (Some(s), false) => AccessAsked::Read {
                categories: vec![s.category],
            },
            (None, _) => AccessAsked::Read {
                categories: DataCategory::ALL.to_vec(),
            },
        };
        let text = match &checked {
            Some(Ok((_, text))) => vec![text.clone()],
            _ => Vec::new(),
        };
        let index = text
            .first()
            .map(|t| japanese::search::bigrams(t))
            .unwrap_or_default();
        let answer = self
            .access(
                ctx,
                PatientAccess {
                    seal: text,
                    index,
                    ..asking(
                        patient_id.clone(),
                        asked,
                        Purpose::Care,
                        vec![format!("post:{post_id}")],
                        ep::EDIT_POST,
                    )
                },
            )
            .await?;
        let (Some(stored), Some(checked)) = (stored, checked) else {
            return Err(Problem::not_found("no such post"));
        };
        let (version, _) = checked.map_err(refused)?;
        let Some(text_sealed) = answer.sealed.into_iter().next() else {
            return Err(Problem::internal());
        };
        let (position, _) = self
            .append(
                ctx,
                aggregates::POST,
                &post_id,
                ExpectedVersion::Exact(stored.sequence),
                MessagingEvent::PostEdited {
                    post_id: post_id.clone(),
                    patient_id,
                    editor: author_of(answer.author),
                    version,
                    text_sealed,
                    terms: answer.indexed,
                },
                answer.home_municipality,
            )
            .await?;
        Ok(Reply::written(Edited { post_id, version }, position))
    }

    /// The author (a write of the post's category) or the secretariat (the registration,
    /// for administration: they organise, they do not read) withdraws a post. Nothing is
    /// erased; a second withdrawal changes nothing.
    async fn retract_post(&self, ctx: &CallContext, c: RetractPost) -> Result<Reply, Problem> {
        let patient_id = patient_id(&c.patient_id)?;
        let post_id = post_id(&c.post_id)?;
        let stored = self.stored(&patient_id, &post_id).await?;
        let me = Self::me(ctx);
        let secretariat = ctx
            .caller
            .as_ref()
            .is_some_and(|c| c.subject.has_role(Role::MunicipalSecretariat));
        let checked = stored
            .as_ref()
            .map(|s| post::retraction(s.standing.author == me, secretariat, c.reason.as_deref()));
        // Asked as who they are, whatever the reason's fault (named once decided).
        let (asked, purpose) = match &stored {
            Some(s) if s.standing.author == me => (
                AccessAsked::Write {
                    category: s.category,
                },
                Purpose::Care,
            ),
            Some(_) if secretariat => (AccessAsked::Registration, Purpose::Administration),
            Some(s) => (
                AccessAsked::Read {
                    categories: vec![s.category],
                },
                Purpose::Care,
            ),
            None => (
                AccessAsked::Read {
                    categories: DataCategory::ALL.to_vec(),
                },
                Purpose::Care,
            ),
        };
        let reason = match &checked {
            Some(Ok((_, Some(reason)))) => vec![reason.clone()],
            _ => Vec::new(),
        };
        let answer = self
            .access(
                ctx,
                PatientAccess {
                    seal: reason,
                    ..asking(
                        patient_id.clone(),
                        asked,
                        purpose,
                        vec![format!("post:{post_id}")],
                        ep::RETRACT_POST,
                    )
                },
            )
            .await?;
        let (Some(stored), Some(checked)) = (stored, checked) else {
            return Err(Problem::not_found("no such post"));
        };
        checked.map_err(refused)?;
        if let Some(retracted_at) = stored.retracted_at {
            return Ok(Reply::value(Retracted {
                post_id,
                retracted_at,
            }));
        }
        let (position, at) = self
            .append(
                ctx,
                aggregates::POST,
                &post_id,
                ExpectedVersion::Exact(stored.sequence),
                MessagingEvent::PostRetracted {
                    post_id: post_id.clone(),
                    patient_id,
                    by: author_of(answer.author),
                    reason_sealed: answer.sealed.into_iter().next(),
                },
                answer.home_municipality,
            )
            .await?;
        Ok(Reply::written(
            Retracted {
                post_id,
                retracted_at: at,
            },
            position,
        ))
    }

    /// Every text a post had, first to last, and its withdrawal: decided as a read of its
    /// category (an unknown post as a read of every category, then 404), recorded, opened.
    async fn post_history(&self, ctx: &CallContext, q: ReadPostHistory) -> Result<Reply, Problem> {
        let patient_id = patient_id(&q.patient_id)?;
        let post_id = post_id(&q.post_id)?;
        if !matches!(q.purpose, Purpose::Care | Purpose::Emergency) {
            return Err(Problem::invalid_field(
                "/purpose",
                "a post is read for care, or in an emergency",
            ));
        }
        self.caught_up(ctx).await?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let post = self
            .row_of(
                timeline::SCHEMA,
                "SELECT category, retracted_at, retracted_by_member_id, retracted_by_name,
                        retracted_by_profession, retracted_by_site_name, retraction_reason_sealed
                   FROM timeline.posts WHERE post_id = $1 AND patient_id = $2",
                &[&post_id, &patient_id],
            )
            .await?;
        let versions = match &post {
            Some(_) => client
                .query(
                    "SELECT version, text_sealed, written_at, member_id, name, profession, site_name
                       FROM timeline.post_versions WHERE post_id = $1 ORDER BY version",
                    &[&post_id],
                )
                .await
                .map_err(db_problem)?,
            None => Vec::new(),
        };
        let category = post.as_ref().and_then(|r| category_named(r.get(0)));
        let reason: Option<String> = post.as_ref().and_then(|r| r.get(6));
        let answer = self
            .access(
                ctx,
                PatientAccess {
                    open: versions
                        .iter()
                        .map(|v| v.get::<_, String>(1))
                        .chain(reason)
                        .map(|sealed| SealedText {
                            category: category.unwrap_or(DataCategory::CareRecords),
                            sealed,
                        })
                        .collect(),
                    ..asking(
                        patient_id.clone(),
                        AccessAsked::Read {
                            categories: category
                                .map_or_else(|| DataCategory::ALL.to_vec(), |c| vec![c]),
                        },
                        q.purpose,
                        vec![format!("post:{post_id}")],
                        ep::POST_HISTORY,
                    )
                },
            )
            .await?;
        let (Some(post), Some(category)) = (post, category) else {
            return Err(Problem::not_found("no such post"));
        };
        if !answer.categories.contains(&category) {
            return Err(Problem::forbidden(
                "the consent does not open this post's category to you",
            ));
        }
        let mut opened = answer.opened.into_iter();
        let versions = versions
            .iter()
            .zip(opened.by_ref())
            .map(|(v, text)| PostVersionView {
                version: u32::try_from(v.get::<_, i32>(0)).unwrap_or(0),
                text,
                written_at: v.get(2),
                written_by: PostAuthorView {
                    member_id: v.get(3),
                    name: v.get(4),
                    profession: v.get(5),
                    site_name: v.get(6),
                },
            })
            .collect();
        let retraction = retraction_of(&post, 1, &mut opened);
        Ok(Reply::value(PostHistory {
            post_id,
            versions,
            retraction,
        }))
    }
}

impl Messaging {
    /// May a file of a post be streamed? Decided as a read of the post's category (an unknown
    /// post as a read of every category, then 404), and recorded, before the gateway sends a
    /// byte. A withdrawn post's files, and an erased patient's, are not served.
    async fn open_attachment(
        &self,
        ctx: &CallContext,
        q: OpenAttachment,
    ) -> Result<Reply, Problem> {
        let patient_id = patient_id(&q.patient_id)?;
        let post_id = post_id(&q.post_id)?;
        let sha256 = q.sha256.to_ascii_lowercase();
        if !matches!(q.purpose, Purpose::Care | Purpose::Emergency) {
            return Err(Problem::invalid_field(
                "/purpose",
                "a post is read for care, or in an emergency",
            ));
        }
        self.caught_up(ctx).await?;
        let post = self
            .row_of(
                timeline::SCHEMA,
                "SELECT category, attachments, retracted_at
                   FROM timeline.posts WHERE post_id = $1 AND patient_id = $2",
                &[&post_id, &patient_id],
            )
            .await?;
        let category = post.as_ref().and_then(|r| category_named(r.get(0)));
        let answer = self
            .access(
                ctx,
                PatientAccess {
                    // Asked only to tell an erased patient (no name) from one still here.
                    name: true,
                    ..asking(
                        patient_id.clone(),
                        AccessAsked::Read {
                            categories: category
                                .map_or_else(|| DataCategory::ALL.to_vec(), |c| vec![c]),
                        },
                        q.purpose,
                        vec![format!("post:{post_id}"), format!("file:{sha256}")],
                        ep::OPEN_ATTACHMENT,
                    )
                },
            )
            .await?;
        let (Some(post), Some(category)) = (post, category) else {
            return Err(Problem::not_found("no such post"));
        };
        if !answer.categories.contains(&category) {
            return Err(Problem::forbidden(
                "the consent does not open this post's category to you",
            ));
        }
        let attached = serde_json::from_value::<Vec<PostAttachment>>(post.get(1))
            .unwrap_or_default()
            .iter()
            .any(|a| a.sha256 == sha256);
        let withdrawn = post
            .get::<_, Option<chrono::DateTime<chrono::Utc>>>(2)
            .is_some();
        if !attached || withdrawn || answer.patient_name.is_none() {
            return Err(Problem::not_found("no such file on this post"));
        }
        Ok(Reply::value(AttachmentAllowed { sha256 }))
    }

    /// Everyone on the team now, decided as a read of the timeline and recorded.
    async fn team_people(&self, ctx: &CallContext, q: ReadTeamPeople) -> Result<Reply, Problem> {
        let patient_id = patient_id(&q.patient_id)?;
        let answer = self
            .access(
                ctx,
                PatientAccess {
                    roster: true,
                    ..asking(
                        patient_id,
                        AccessAsked::Read {
                            categories: DataCategory::ALL.to_vec(),
                        },
                        Purpose::Care,
                        vec!["team".to_owned()],
                        ep::TEAM_PEOPLE,
                    )
                },
            )
            .await?;
        Ok(Reply::value(TeamPeople {
            people: answer
                .team
                .into_iter()
                .map(|m| PostAuthorView {
                    member_id: m.member_id,
                    name: m.name,
                    profession: m.profession,
                    site_name: m.site_name,
                })
                .collect(),
        }))
    }

    /// Posts of the timelines the member may read that hold every word of the query: the
    /// query's bigrams keyed by identity for each patient whose team they are on, looked up
    /// in the index (newest first), then each patient's candidates opened through the one
    /// decision (recorded) and kept only if the text holds the words as written.
    async fn search_posts(&self, ctx: &CallContext, q: SearchPosts) -> Result<Reply, Problem> {
        let terms = japanese::search::bigrams(&q.q);
        if terms.is_empty() {
            return Err(Problem::invalid_field(
                "/q",
                "give a word of at least two letters or digits side by side (e.g. 褥瘡)",
            ));
        }
        let limit = match q.limit.unwrap_or(20) {
            n @ 1..=50 => n,
            _ => {
                return Err(Problem::invalid_field(
                    "/limit",
                    "a page holds 1 to 50 posts",
                ));
            }
        };
        let after = match q.after.as_deref().map(Uuid::try_parse) {
            None => None,
            Some(Ok(id)) => Some(id.to_string()),
            Some(Err(_)) => return Err(Problem::invalid_field("/after", "a post id (a UUID)")),
        };
        self.caught_up(ctx).await?;
        let keyed: SearchTermsAnswer = self
            .ask_identity(
                ctx,
                SEARCH_TERMS,
                &SearchTerms {
                    terms: terms.clone(),
                },
            )
            .await?;
        let tokens: Vec<i64> = keyed
            .patients
            .iter()
            .flat_map(|p| p.terms.iter().copied())
            .collect();
        let mine: Vec<String> = keyed
            .patients
            .iter()
            .map(|p| p.patient_id.clone())
            .collect();
        if tokens.is_empty() {
            return Ok(Reply::value(SearchPage {
                items: Vec::new(),
                next_after: None,
            }));
        }
        // A post of one of these patients holding every term (each keyed for its patient).
        let rows = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query(
                "SELECT p.post_id, p.patient_id, p.author_member_id, p.author_name,
                        p.author_profession, p.author_site_name, p.category, p.urgent,
                        p.text_sealed, p.posted_at
                   FROM timeline.posts p
                   JOIN (SELECT post_id FROM timeline.post_terms
                          WHERE term = ANY($1) AND ($2::text IS NULL OR post_id < $2)
                          GROUP BY post_id HAVING count(*) = $3) found USING (post_id)
                  WHERE p.patient_id = ANY($4) AND p.retracted_at IS NULL
                  ORDER BY p.post_id DESC
                  LIMIT $5",
                &[
                    &tokens,
                    &after,
                    &i64::try_from(terms.len()).unwrap_or(i64::MAX),
                    &mine,
                    &(i64::from(limit) + 1),
                ],
            )
            .await
            .map_err(db_problem)?;
        let more = rows.len() > limit as usize;
        let rows = &rows[..rows.len().min(limit as usize)];
        let mut hits = Vec::new();
        for patient in &mine {
            let theirs: Vec<&tokio_postgres::Row> = rows
                .iter()
                .filter(|r| r.get::<_, &str>(1) == patient)
                .collect();
            if theirs.is_empty() {
                continue;
            }
            let category = |r: &tokio_postgres::Row| {
                category_named(r.get(6)).unwrap_or(DataCategory::CareRecords)
            };
            let answer = self
                .access(
                    ctx,
                    PatientAccess {
                        open: theirs
                            .iter()
                            .map(|r| SealedText {
                                category: category(r),
                                sealed: r.get(8),
                            })
                            .collect(),
                        name: true,
                        ..asking(
                            patient.clone(),
                            AccessAsked::Read {
                                categories: DataCategory::ALL.to_vec(),
                            },
                            Purpose::Care,
                            theirs
                                .iter()
                                .map(|r| format!("post:{}", r.get::<_, &str>(0)))
                                .collect(),
                            ep::SEARCH_POSTS,
                        )
                    },
                )
                .await;
            // Refused since the terms were keyed (a withdrawal a moment ago): the refusal is
            // recorded, and that patient shows nothing.
            let answer = match answer {
                Ok(answer) => answer,
                Err(p) if p.status == 403 || p.status == 404 => continue,
                Err(p) => return Err(p),
            };
            for (row, text) in theirs.into_iter().zip(answer.opened) {
                let Some(text) = text.filter(|t| japanese::search::holds(t, &q.q)) else {
                    continue;
                };
                hits.push(SearchHit {
                    patient_id: patient.clone(),
                    patient_name: answer.patient_name.clone(),
                    post_id: row.get(0),
                    author: PostAuthorView {
                        member_id: row.get(2),
                        name: row.get(3),
                        profession: row.get(4),
                        site_name: row.get(5),
                    },
                    category: category(row),
                    urgent: row.get(7),
                    text,
                    posted_at: row.get(9),
                });
            }
        }
        hits.sort_by(|a, b| b.post_id.cmp(&a.post_id));
        let next_after = more
            .then(|| rows.last().map(|r| r.get::<_, String>(0)))
            .flatten();
        Ok(Reply::value(SearchPage {
            items: hits,
            next_after,
        }))
    }
}
