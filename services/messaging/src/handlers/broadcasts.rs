//! Broadcasts: the coordination centre sends to its municipality at once; a site or an
//! association submits for review, the centre publishes or returns with a reason, the
//! submitter revises and resubmits. Each change is appended on the broadcast's own subject
//! after its last event (two reviews at once cannot both land). Nothing here is patient data.

use bus::{CallContext, Reply};
use event_store::{ExpectedVersion, Visibility};
use messaging_api::aggregates;
use messaging_api::broadcasts::{
    BroadcastAnswer, BroadcastHistory, BroadcastStatus, BroadcastStep, BroadcastView,
    BroadcastsPage, ListBroadcasts, NewBroadcast, ReadBroadcastHistory, ReviewBroadcast,
    ReviewDecision, ReviseBroadcast,
};
use messaging_api::events::MessagingEvent;
use permissions::{Caller, Role};
use problem::Problem;
use uuid::Uuid;

use super::{Messaging, after_id, cut, db_problem, nobody, page_limit, path_id, person_in};
use crate::domain::broadcast::{self, Refused};
use crate::projections::broadcasts::SCHEMA;

/// A broadcast as its row holds it.
struct Stored {
    view: BroadcastView,
    submitter: Option<String>,
    sequence: u64,
}

const COLUMNS: &str = "broadcast_id, municipality, status, version, title, text, professions,
                       submitted_by, returned_reason, published_at, published_by, updated_at,
                       sequence";

fn stored(row: &tokio_postgres::Row) -> Stored {
    let submitted_by = person_in(row.get(7));
    Stored {
        submitter: submitted_by.as_ref().map(|a| a.member_id.clone()),
        sequence: u64::try_from(row.get::<_, i64>(12)).unwrap_or(0),
        view: BroadcastView {
            broadcast_id: row.get(0),
            municipality: row.get(1),
            status: BroadcastStatus::named(row.get(2)).unwrap_or(BroadcastStatus::Pending),
            version: u32::try_from(row.get::<_, i32>(3)).unwrap_or(0),
            title: row.get(4),
            text: row.get(5),
            professions: serde_json::from_value(row.get(6)).unwrap_or_default(),
            submitted_by,
            returned_reason: row.get(8),
            published_at: row.get(9),
            published_by: person_in(row.get(10)),
            updated_at: row.get(11),
        },
    }
}

fn no_such_broadcast() -> Problem {
    Problem::not_found("no such broadcast")
}

fn refused(r: Refused) -> Problem {
    match r {
        Refused::NotPending => Problem::conflict("not-pending", r.to_string()),
        Refused::NotReturned => Problem::conflict("not-returned", r.to_string()),
        Refused::Invalid(i) => Problem::invalid_field(i.field, i.reason),
    }
}

/// Does the caller follow this submission: its submitter, its municipality's centre, the
/// operator?
fn follows(caller: Option<&Caller>, b: &Stored) -> bool {
    caller.is_none_or(|c| {
        broadcast::reviews(c, &b.view.municipality)
            || b.submitter.as_deref() == Some(c.member_id.as_str())
    })
}

impl Messaging {
    /// The broadcast, once the projection holds what was stored so far if it was not found.
    async fn broadcast(&self, id: &str) -> Result<Option<Stored>, Problem> {
        let id = path_id(id, "broadcast")?;
        let row = self
            .row_of(
                SCHEMA,
                &format!("SELECT {COLUMNS} FROM broadcasts.broadcasts WHERE broadcast_id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(stored))
    }

    /// The broadcast as it stands after every event stored so far (a change appends after it).
    async fn settled_broadcast(&self, id: &str) -> Result<Option<Stored>, Problem> {
        self.settled_in(SCHEMA).await?;
        self.broadcast(id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn append_broadcast(
        &self,
        ctx: &CallContext,
        id: &str,
        expected: ExpectedVersion,
        municipality: &str,
        event: MessagingEvent,
        status: BroadcastStatus,
        version: u32,
    ) -> Result<Reply, Problem> {
        let (position, _) = self
            .append_as(
                ctx,
                Visibility::Municipality,
                aggregates::BROADCAST,
                id,
                expected,
                event,
                Some(municipality.to_owned()),
            )
            .await?;
        let answer = BroadcastAnswer {
            broadcast_id: id.to_owned(),
            status,
            version,
        };
        Ok(Reply::written(answer, position))
    }

    pub(super) async fn send_broadcast(
        &self,
        ctx: &CallContext,
        b: NewBroadcast,
    ) -> Result<Reply, Problem> {
        let content = broadcast::checked(&b.title, &b.text, &b.professions)
            .map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        let caller = ctx.caller.as_ref();
        let sends = caller.is_none_or(|c| broadcast::reviews(c, &b.municipality));
        let submits = caller.is_some_and(|c| {
            c.subject.has_role(Role::SiteAdmin)
                && c.municipality.as_deref() == Some(&b.municipality)
        });
        if !sends && !submits {
            return Err(Problem::forbidden(
                "a broadcast is sent by its municipality's coordination centre, or submitted by a site",
            ));
        }
        let by = self.author(ctx).await?;
        let id = Uuid::now_v7().to_string();
        let (event, status) = if sends {
            (
                MessagingEvent::BroadcastPublished {
                    broadcast_id: id.clone(),
                    municipality: b.municipality.clone(),
                    version: 1,
                    title: content.title,
                    text: content.text,
                    professions: content.professions,
                    by,
                },
                BroadcastStatus::Published,
            )
        } else {
            (
                MessagingEvent::BroadcastSubmitted {
                    broadcast_id: id.clone(),
                    municipality: b.municipality.clone(),
                    version: 1,
                    title: content.title,
                    text: content.text,
                    professions: content.professions,
                    by,
                },
                BroadcastStatus::Pending,
            )
        };
        self.append_broadcast(
            ctx,
            &id,
            ExpectedVersion::NoStream,
            &b.municipality,
            event,
            status,
            1,
        )
        .await
    }

    pub(super) async fn review_broadcast(
        &self,
        ctx: &CallContext,
        r: ReviewBroadcast,
    ) -> Result<Reply, Problem> {
        let b = self
            .settled_broadcast(&r.broadcast_id)
            .await?
            .filter(|b| {
                ctx.caller
                    .as_ref()
                    .is_none_or(|c| broadcast::reviews(c, &b.view.municipality))
            })
            .ok_or_else(no_such_broadcast)?;
        broadcast::may_review(b.view.status).map_err(refused)?;
        let by = self.author(ctx).await?;
        let v = b.view;
        let (event, status) = match r.review.decision {
            ReviewDecision::Publish => (
                MessagingEvent::BroadcastPublished {
                    broadcast_id: v.broadcast_id.clone(),
                    municipality: v.municipality.clone(),
                    version: v.version,
                    title: v.title,
                    text: v.text,
                    professions: v.professions,
                    by,
                },
                BroadcastStatus::Published,
            ),
            ReviewDecision::Return => (
                MessagingEvent::BroadcastReturned {
                    broadcast_id: v.broadcast_id.clone(),
                    version: v.version,
                    reason: broadcast::reason(r.review.reason.as_deref())
                        .map_err(|i| Problem::invalid_field(i.field, i.reason))?,
                    by,
                },
                BroadcastStatus::Returned,
            ),
        };
        self.append_broadcast(
            ctx,
            &v.broadcast_id,
            ExpectedVersion::Exact(b.sequence),
            &v.municipality,
            event,
            status,
            v.version,
        )
        .await
    }

    pub(super) async fn revise_broadcast(
        &self,
        ctx: &CallContext,
        r: ReviseBroadcast,
    ) -> Result<Reply, Problem> {
        let me = Self::me(ctx);
        let b = self
            .settled_broadcast(&r.broadcast_id)
            .await?
            .filter(|b| b.submitter.as_deref() == Some(me.as_str()))
            .ok_or_else(no_such_broadcast)?;
        broadcast::may_revise(b.view.status).map_err(refused)?;
        let content =
            broadcast::checked(&r.revision.title, &r.revision.text, &r.revision.professions)
                .map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        let by = self.author(ctx).await?;
        let version = b.view.version + 1;
        let event = MessagingEvent::BroadcastSubmitted {
            broadcast_id: b.view.broadcast_id.clone(),
            municipality: b.view.municipality.clone(),
            version,
            title: content.title,
            text: content.text,
            professions: content.professions,
            by,
        };
        self.append_broadcast(
            ctx,
            &b.view.broadcast_id,
            ExpectedVersion::Exact(b.sequence),
            &b.view.municipality,
            event,
            BroadcastStatus::Pending,
            version,
        )
        .await
    }

    pub(super) async fn received_broadcasts(
        &self,
        ctx: &CallContext,
        q: ListBroadcasts,
    ) -> Result<Reply, Problem> {
        let limit = page_limit(q.limit)?;
        let after = after_id(q.after.as_deref())?;
        self.caught_up_in(ctx, SCHEMA).await?;
        let caller = ctx.caller.as_ref();
        let everywhere = caller.is_none_or(|c| c.subject.has_role(Role::Operator));
        let municipality = caller.and_then(|c| c.municipality.clone());
        let rows = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM broadcasts.broadcasts
                      WHERE status = 'published' AND ($1 OR municipality = $2)
                        AND ($3::text IS NULL OR broadcast_id < $3)
                      ORDER BY broadcast_id DESC LIMIT $4"
                ),
                &[&everywhere, &municipality, &after, &(i64::from(limit) + 1)],
            )
            .await
            .map_err(db_problem)?;
        let (rows, next_after) = cut(&rows, limit);
        let items = rows
            .iter()
            .map(stored)
            .filter(|b| {
                everywhere
                    || caller.is_some_and(|c| {
                        broadcast::receives(c, &b.view.municipality, &b.view.professions)
                    })
            })
            .map(|b| b.view)
            .collect();
        Ok(Reply::value(BroadcastsPage { items, next_after }))
    }

    pub(super) async fn broadcast_submissions(
        &self,
        ctx: &CallContext,
        q: ListBroadcasts,
    ) -> Result<Reply, Problem> {
        let limit = page_limit(q.limit)?;
        let after = after_id(q.after.as_deref())?;
        self.caught_up_in(ctx, SCHEMA).await?;
        let caller = ctx.caller.as_ref();
        let everywhere = caller.is_none_or(|c| c.subject.has_role(Role::Operator));
        // The centre follows its municipality's; anyone, their own.
        let reviewed = caller
            .filter(|c| c.subject.has_role(Role::CoordinationCentreStaff))
            .and_then(|c| c.municipality.clone());
        let me = Self::me(ctx);
        let rows = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM broadcasts.broadcasts
                      WHERE submitted_by IS NOT NULL
                        AND ($1 OR municipality = $2 OR submitted_by->>'member_id' = $3)
                        AND ($4::text IS NULL OR broadcast_id < $4)
                      ORDER BY broadcast_id DESC LIMIT $5"
                ),
                &[&everywhere, &reviewed, &me, &after, &(i64::from(limit) + 1)],
            )
            .await
            .map_err(db_problem)?;
        let (rows, next_after) = cut(&rows, limit);
        let items = rows.iter().map(|r| stored(r).view).collect();
        Ok(Reply::value(BroadcastsPage { items, next_after }))
    }

    pub(super) async fn broadcast_history(
        &self,
        ctx: &CallContext,
        q: ReadBroadcastHistory,
    ) -> Result<Reply, Problem> {
        self.caught_up_in(ctx, SCHEMA).await?;
        let b = self
            .broadcast(&q.broadcast_id)
            .await?
            .filter(|b| follows(ctx.caller.as_ref(), b))
            .ok_or_else(no_such_broadcast)?;
        let rows = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query(
                "SELECT step, version, title, text, reason, by_member, at
                   FROM broadcasts.broadcast_steps WHERE broadcast_id = $1 ORDER BY sequence",
                &[&b.view.broadcast_id],
            )
            .await
            .map_err(db_problem)?;
        let steps = rows
            .iter()
            .map(|r| BroadcastStep {
                step: BroadcastStatus::named(r.get(0)).unwrap_or(BroadcastStatus::Pending),
                version: u32::try_from(r.get::<_, i32>(1)).unwrap_or(0),
                title: r.get(2),
                text: r.get(3),
                reason: r.get(4),
                by: person_in(Some(r.get(5))).unwrap_or_else(nobody),
                at: r.get(6),
            })
            .collect();
        Ok(Reply::value(BroadcastHistory {
            broadcast: b.view,
            steps,
        }))
    }
}
