//! Writing one event and reading one's own writes, the same for every service: the envelope
//! filled from the call (actor, correlation, trace) and the service clock, the store's
//! refusals as problems a client can act on, and the wait for a projection to catch up.

use std::time::Duration;

use bus::CallContext;
use chrono::{DateTime, SubsecRound, Utc};
use clock::SharedClock;
use deadpool_postgres::Pool;
use event_store::{
    Actor, AppendError, EventContract, EventEnvelope, EventStore, ExpectedVersion, JetStreamStore,
    Position, Visibility,
};
use problem::Problem;
use uuid::Uuid;

/// Where an event goes: whose it is (visibility, municipality), which aggregate, and what the
/// writer expects of that aggregate's stream.
pub struct Subject<'a> {
    pub visibility: Visibility,
    pub municipality: Option<String>,
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub expected: ExpectedVersion,
}

/// Appends `event` on `context`'s stream for the call `ctx`: its position and the time it
/// carries (as Postgres keeps time, microseconds, so an answer made from it reads the same
/// later). A concurrent change is a 409, a refusal a 422, the store down a 503.
pub async fn append<E: EventContract>(
    store: &JetStreamStore,
    clock: &SharedClock,
    context: &str,
    ctx: &CallContext,
    subject: Subject<'_>,
    event: E,
) -> Result<(Position, DateTime<Utc>), Problem> {
    let occurred_at = clock.now().trunc_subsecs(6);
    let envelope = EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().to_owned(),
        schema_version: E::current_version(event.event_type()).unwrap_or(1),
        visibility: subject.visibility,
        municipality: subject.municipality,
        aggregate_type: subject.aggregate_type.to_owned(),
        aggregate_id: subject.aggregate_id.to_owned(),
        occurred_at,
        actor: Actor(ctx.actor.clone()),
        correlation_id: ctx.correlation_id,
        causation_id: None,
        traceparent: telemetry::current_traceparent(),
        payload: event.to_payload(),
    };
    store
        .append(context, subject.expected, envelope)
        .await
        .map(|appended| (appended.position, occurred_at))
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

/// Waits (at most `wait`) until projection `schema` has applied `sequence`; a projection
/// still behind then is a 504 whose detail is `lagging`.
pub async fn applied(
    pool: &Pool,
    schema: &str,
    sequence: u64,
    wait: Duration,
    lagging: &'static str,
) -> Result<(), Problem> {
    projection_runner::wait_for_position(pool, schema, sequence, wait)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            projection_runner::RunnerError::Lagging { .. } => Problem::timeout(lagging),
            other => {
                tracing::error!(error = %other, "database failure");
                Problem::unavailable("the database is unavailable; try again")
            }
        })
}
