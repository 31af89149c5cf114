//! The break-glass reactor: records the end of every grant whose `expires_at` has passed.
//!
//! At start-up and then every [`SWEEP_EVERY`], it asks the care projection for grants past
//! their `expires_at` by the service's clock with no end recorded, and for each loads the
//! patient's aggregate from the stream, decides `EndBreakGlass` and appends `BreakGlassEnded`
//! conditionally on the patient's subject, caused by the `BreakGlassOpened` event. Once per
//! grant: the decision answers nothing for a grant already ended, and of two sweeps (two
//! replicas) ending the same grant one append wins and the other meets a conflict, and finds
//! the grant ended the next time. The access decision never waits for this: a grant past
//! its `expires_at` opens nothing.

use std::sync::Arc;
use std::time::Duration;

use event_store::{
    Actor, AppendError, EventContract, EventEnvelope, EventStore, ExpectedVersion, Visibility,
};
use identity_api::CONTEXT;
use identity_api::events::IdentityEvent;
use identity_api::patients::PATIENT;
use uuid::Uuid;

use crate::domain::consent::{self as consents, ConsentCommand};
use crate::handlers::Identity;

/// How often the sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Grants ended in one sweep at most; the rest wait for the next.
const SWEEP_LIMIT: i64 = 200;

/// Sweeps until `stop` completes.
pub async fn run(identity: Arc<Identity>, stop: impl Future<Output = ()>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut stop => return,
        }
        sweep(&identity).await;
    }
}

/// A grant past its `expires_at` with no end recorded, as the care projection has it.
struct Due {
    grant_id: String,
    patient_id: String,
    opened_event_id: Uuid,
}

/// One sweep: ends every grant due (up to [`SWEEP_LIMIT`]); answers how many it ended.
/// Whatever fails is logged and left for the next sweep.
pub async fn sweep(identity: &Identity) -> usize {
    let due = match due(identity).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "break-glass sweep: grants not read; next sweep");
            return 0;
        }
    };
    let mut ended = 0;
    for grant in &due {
        if end(identity, grant).await {
            ended += 1;
        }
    }
    ended
}

async fn due(identity: &Identity) -> Result<Vec<Due>, Box<dyn std::error::Error>> {
    let client = identity.pool.get().await?;
    let rows = client
        .query(
            "SELECT grant_id, patient_id, opened_event_id FROM care.break_glass_grants
             WHERE ended_at IS NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
            &[&identity.clock.now(), &SWEEP_LIMIT],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Due {
            grant_id: r.get(0),
            patient_id: r.get(1),
            opened_event_id: r.get(2),
        })
        .collect())
}

/// Ends one grant if the patient's aggregate agrees it is due; answers whether it did.
async fn end(identity: &Identity, due: &Due) -> bool {
    let (grant, patient) = (&due.grant_id, &due.patient_id);
    let loaded = match identity.load_patient(patient).await {
        Ok(loaded) => loaded,
        Err(problem) => {
            tracing::warn!(
                grant,
                patient,
                status = problem.status,
                "break-glass end: patient not loaded; next sweep"
            );
            return false;
        }
    };
    let command = ConsentCommand::EndBreakGlass {
        grant_id: grant.clone(),
        now: identity.clock.now(),
    };
    let event = match consents::decide(loaded.consents.as_ref(), command) {
        Ok(Some(event)) => event,
        // Already ended: the projection has not applied the end yet.
        Ok(None) => return false,
        Err(e) => {
            tracing::warn!(grant, patient, error = %e, "break-glass end refused");
            return false;
        }
    };
    let envelope = EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().to_owned(),
        schema_version: IdentityEvent::current_version(event.event_type()).unwrap_or(1),
        visibility: Visibility::Patient,
        municipality: loaded.facts.home_municipality.clone(),
        aggregate_type: PATIENT.to_owned(),
        aggregate_id: patient.clone(),
        occurred_at: identity.clock.now(),
        actor: Actor::system(),
        correlation_id: Uuid::now_v7(),
        causation_id: Some(due.opened_event_id),
        traceparent: None,
        payload: event.to_payload(),
    };
    let expected = ExpectedVersion::from_loaded(loaded.version);
    match identity.store.append(CONTEXT, expected, envelope).await {
        Ok(appended) => {
            tracing::info!(grant, patient, position = %appended.position, "break-glass grant ended");
            true
        }
        Err(AppendError::Conflict { .. }) => {
            tracing::debug!(
                grant,
                patient,
                "break-glass end: the patient changed meanwhile; next sweep"
            );
            false
        }
        Err(e) => {
            tracing::warn!(grant, patient, error = %e, "break-glass end not appended; next sweep");
            false
        }
    }
}
