//! Bus endpoints: commands load their aggregate from the event store, decide, and append
//! conditionally; queries read the register projection, waiting for the caller's last
//! write when asked to (read-your-writes). Organisations and sites live in `directory`;
//! patients, their consents and care teams, and every read of patient data (through the
//! access decision, recorded) in `patients`.

mod directory;
mod patients;

pub use patients::BOOTSTRAP;

use std::sync::Arc;
use std::time::Duration;

use bus::{CallContext, Endpoint, Incoming, Reply};
use clock::SharedClock;
use deadpool_postgres::Pool;
use event_store::{
    Actor, AppendError, EventContract, EventEnvelope, EventStore, ExpectedVersion, JetStreamStore,
    Position, Visibility,
};
use identity_api::events::IdentityEvent;
use identity_api::members::endpoints as members;
use identity_api::municipalities::*;
use identity_api::{CONTEXT, aggregates, endpoints, places};

use crate::credential_store::CredentialStore;
use crate::settings::TokenSettings;
use problem::Problem;
use uuid::Uuid;

use crate::domain::group::{self, GroupCommand, GroupError};
use crate::domain::municipality::{self, MunicipalityCommand, MunicipalityError, parse_code};
use crate::domain::{Invalid, slug};
use crate::projections::register;
use crate::queries;

/// Everything a handler needs.
pub struct Identity {
    pub store: JetStreamStore,
    pub pool: Pool,
    pub clock: SharedClock,
    /// How long a query waits for its projection to reach the caller's position.
    pub read_wait: Duration,
    /// Secrets and sessions: never in a stream.
    pub credentials: CredentialStore,
    /// Issuer, audience and lifetime of access tokens.
    pub tokens: TokenSettings,
    /// Where every access to patient data is recorded (group commit on the access stream).
    pub access_log: access_log::AccessLog,
    /// Patients' access facts folded from the care projection, by the sequence reached.
    pub facts: crate::records::FactsCache,
}

/// Who may see an event: its envelope's visibility and municipality.
#[derive(Debug, Clone)]
pub struct Scope {
    pub visibility: Visibility,
    pub municipality: Option<String>,
}

impl From<Invalid> for Problem {
    fn from(i: Invalid) -> Self {
        Problem::invalid_field(i.field, i.reason)
    }
}

fn municipality_problem(e: MunicipalityError) -> Problem {
    match e {
        MunicipalityError::Invalid(i) => i.into(),
        MunicipalityError::AlreadyRegistered(_) => {
            Problem::conflict("already-exists", e.to_string())
        }
        MunicipalityError::NotRegistered | MunicipalityError::NoSuchArea(_) => {
            Problem::not_found(e.to_string())
        }
        MunicipalityError::AreaExists(_) => Problem::conflict("already-exists", e.to_string()),
    }
}

fn group_problem(e: GroupError) -> Problem {
    match e {
        GroupError::Invalid(i) => i.into(),
        GroupError::AlreadyFormed(_) => Problem::conflict("already-exists", e.to_string()),
        GroupError::NotFormed | GroupError::NotMember(_) => Problem::not_found(e.to_string()),
        GroupError::AlreadyMember(_) => Problem::conflict("already-exists", e.to_string()),
    }
}

fn store_problem<E: std::error::Error>(e: E) -> Problem {
    tracing::error!(error = %e, source = ?e.source(), "event store failure");
    Problem::unavailable("the event store is unavailable; try again")
}

fn db_problem<E: std::error::Error>(e: E) -> Problem {
    tracing::error!(error = %e, source = ?e.source(), "database failure");
    Problem::unavailable("the database is unavailable; try again")
}

impl Identity {
    /// Loads an aggregate by folding its events.
    pub(crate) async fn load<S>(
        &self,
        aggregate_type: &str,
        id: &str,
        evolve: fn(Option<S>, &IdentityEvent) -> Option<S>,
    ) -> Result<(Option<S>, u64), Problem> {
        let (events, version) = self
            .store
            .read_aggregate(CONTEXT, aggregate_type, id)
            .await
            .map_err(store_problem)?;
        let mut state = None;
        for recorded in events {
            let env = recorded.envelope;
            let event = IdentityEvent::decode(&env.event_type, env.schema_version, env.payload)
                .map_err(|e| {
                    tracing::error!(position = %recorded.position, error = %e, "stored event unreadable");
                    Problem::internal()
                })?;
            state = evolve(state, &event);
        }
        Ok((state, version))
    }

    /// Appends the decided event if the aggregate is still at `version`, as region-wide
    /// data: the register and the directory of organisations and sites are visible to
    /// every member of the region.
    pub(crate) async fn append(
        &self,
        ctx: &CallContext,
        aggregate_type: &str,
        id: &str,
        version: u64,
        event: IdentityEvent,
    ) -> Result<Position, Problem> {
        let scope = Scope {
            visibility: Visibility::Region,
            municipality: None,
        };
        self.append_as(
            ctx,
            aggregate_type,
            id,
            ExpectedVersion::from_loaded(version),
            event,
            scope,
        )
        .await
    }

    /// Appends one event with its visibility and municipality (see ARCHITECTURE.md).
    pub(crate) async fn append_as(
        &self,
        ctx: &CallContext,
        aggregate_type: &str,
        id: &str,
        expected: ExpectedVersion,
        event: IdentityEvent,
        scope: Scope,
    ) -> Result<Position, Problem> {
        let payload = event.to_payload();
        self.append_payload(
            ctx,
            aggregate_type,
            id,
            expected,
            event.event_type(),
            payload,
            scope,
        )
        .await
    }

    /// Appends one event given as its type and (already sealed) payload.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn append_payload(
        &self,
        ctx: &CallContext,
        aggregate_type: &str,
        id: &str,
        expected: ExpectedVersion,
        event_type: &str,
        payload: serde_json::Value,
        scope: Scope,
    ) -> Result<Position, Problem> {
        let envelope = EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: event_type.to_owned(),
            schema_version: IdentityEvent::current_version(event_type).unwrap_or(1),
            visibility: scope.visibility,
            municipality: scope.municipality,
            aggregate_type: aggregate_type.to_owned(),
            aggregate_id: id.to_owned(),
            occurred_at: self.clock.now(),
            actor: Actor(ctx.actor.clone()),
            correlation_id: ctx.correlation_id,
            causation_id: None,
            traceparent: telemetry::current_traceparent(),
            payload,
        };
        match self.store.append(CONTEXT, expected, envelope).await {
            Ok(appended) => Ok(appended.position),
            Err(AppendError::Conflict { .. }) => Err(Problem::conflict(
                "concurrent-change",
                "someone else changed this at the same time; reload and try again",
            )),
            Err(AppendError::Refused(reason)) => {
                Err(Problem::new(422, "refused", "The change was refused").with_detail(reason))
            }
            Err(e @ AppendError::Unavailable(_)) => Err(store_problem(e)),
        }
    }

    async fn on_municipality(
        &self,
        ctx: &CallContext,
        code: &str,
        field: &str,
        command: MunicipalityCommand,
    ) -> Result<Position, Problem> {
        let code = parse_code(field, code)?;
        let (state, version) = self
            .load(
                aggregates::MUNICIPALITY,
                code.as_str(),
                municipality::evolve,
            )
            .await?;
        match municipality::decide(state.as_ref(), command).map_err(municipality_problem)? {
            Some(event) => {
                self.append(ctx, aggregates::MUNICIPALITY, code.as_str(), version, event)
                    .await
            }
            // Nothing to change: answer with where the municipality already is.
            None => Ok(Position {
                stream: self.store.stream_name(CONTEXT),
                sequence: version,
            }),
        }
    }

    pub(crate) async fn is_registered(&self, code: &str) -> Result<bool, Problem> {
        // The normalised code: a code sent with full-width digits names the same subject.
        let Ok(code) = parse_code("/code", code) else {
            return Ok(false);
        };
        let version = self
            .store
            .aggregate_version(CONTEXT, aggregates::MUNICIPALITY, code.as_str())
            .await
            .map_err(store_problem)?;
        Ok(version > 0)
    }

    async fn on_group(
        &self,
        ctx: &CallContext,
        group_id: &str,
        command: GroupCommand,
    ) -> Result<Position, Problem> {
        let group_id = slug("/group_id", group_id)?;
        let (state, version) = self
            .load(aggregates::MUNICIPALITY_GROUP, &group_id, group::evolve)
            .await?;
        let event = group::decide(state.as_ref(), command).map_err(group_problem)?;
        self.append(
            ctx,
            aggregates::MUNICIPALITY_GROUP,
            &group_id,
            version,
            event,
        )
        .await
    }

    /// Waits until the register has applied what the caller last wrote.
    async fn caught_up(&self, ctx: &CallContext) -> Result<(), Problem> {
        let Some(position) = &ctx.min_position else {
            return Ok(());
        };
        if position.stream != self.store.stream_name(CONTEXT) {
            return Ok(());
        }
        let reached = projection_runner::checkpoint(&self.pool, register::SCHEMA)
            .await
            .map_err(db_problem)?;
        if reached >= position.sequence {
            return Ok(());
        }
        // A position the stream has not reached would be waited for in vain.
        let last = self
            .store
            .last_sequence(CONTEXT)
            .await
            .map_err(store_problem)?;
        if position.sequence > last {
            return Err(Problem::new(422, "unknown-position", "No such position")
                .with_detail(format!(
                    "the stream is at {last}; positions come from Tsunagu-Position headers"
                ))
                .with_field(
                    "/headers/Tsunagu-Min-Position",
                    "beyond the end of the stream",
                ));
        }
        projection_runner::wait_for_position(
            &self.pool,
            register::SCHEMA,
            position.sequence,
            self.read_wait,
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            projection_runner::RunnerError::Lagging { .. } => Problem::timeout(
                "the register has not caught up with your last change yet; try again",
            ),
            other => db_problem(other),
        })
    }

    async fn handle(&self, endpoint: &str, incoming: Incoming) -> Result<Reply, Problem> {
        let ctx = &incoming.ctx;
        match endpoint {
            endpoints::REGISTER_MUNICIPALITY => {
                let c: RegisterMunicipality = incoming.json()?;
                let code = c.code.clone();
                let field = "/code";
                let normalised = parse_code(field, &code)?;
                let position = self
                    .on_municipality(
                        ctx,
                        &code,
                        field,
                        MunicipalityCommand::Register {
                            code: c.code,
                            name: c.name,
                            name_kana: c.name_kana,
                        },
                    )
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "code": normalised.as_str() }),
                    position,
                ))
            }
            endpoints::RENAME_MUNICIPALITY => {
                let c: RenameMunicipality = incoming.json()?;
                let position = self
                    .on_municipality(
                        ctx,
                        &c.code,
                        "/code",
                        MunicipalityCommand::Rename {
                            name: c.change.name,
                            name_kana: c.change.name_kana,
                        },
                    )
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "code": c.code }),
                    position,
                ))
            }
            endpoints::ADD_AREA => {
                let c: AddArea = incoming.json()?;
                let a = c.area;
                let area_id = a.area_id.clone();
                let position = self
                    .on_municipality(
                        ctx,
                        &c.code,
                        "/code",
                        MunicipalityCommand::AddArea {
                            area_id: a.area_id,
                            kind: a.kind,
                            name: a.name,
                            name_kana: a.name_kana,
                        },
                    )
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "code": c.code, "area_id": area_id }),
                    position,
                ))
            }
            endpoints::REMOVE_AREA => {
                let c: RemoveArea = incoming.json()?;
                let position = self
                    .on_municipality(
                        ctx,
                        &c.code,
                        "/code",
                        MunicipalityCommand::RemoveArea {
                            area_id: c.area_id.clone(),
                        },
                    )
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "code": c.code, "area_id": c.area_id }),
                    position,
                ))
            }
            endpoints::FORM_GROUP => {
                let c: FormGroup = incoming.json()?;
                let mut unregistered = Vec::new();
                // Past the limit the decision refuses the group anyway: look nothing up.
                for m in c.members.iter().take(group::MAX_MEMBERS + 1) {
                    if !self.is_registered(m).await? {
                        unregistered.push(m.clone());
                    }
                }
                let group_id = c.group_id.clone();
                let command = GroupCommand::Form {
                    group_id: c.group_id,
                    kind: c.kind,
                    name: c.name,
                    name_kana: c.name_kana,
                    members: c.members,
                    unregistered,
                };
                let position = self.on_group(ctx, &group_id, command).await?;
                Ok(Reply::written(
                    serde_json::json!({ "group_id": group_id }),
                    position,
                ))
            }
            endpoints::JOIN_GROUP => {
                let c: GroupMembership = incoming.json()?;
                let registered = self.is_registered(&c.code).await?;
                let position = self
                    .on_group(
                        ctx,
                        &c.group_id,
                        GroupCommand::Join {
                            code: c.code.clone(),
                            registered,
                        },
                    )
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "group_id": c.group_id, "code": c.code }),
                    position,
                ))
            }
            endpoints::LEAVE_GROUP => {
                let c: GroupMembership = incoming.json()?;
                let position = self
                    .on_group(
                        ctx,
                        &c.group_id,
                        GroupCommand::Leave {
                            code: c.code.clone(),
                        },
                    )
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "group_id": c.group_id, "code": c.code }),
                    position,
                ))
            }
            endpoints::GET_MUNICIPALITY => {
                let q: GetMunicipality = incoming.json()?;
                let code = parse_code("/code", &q.code)?;
                self.caught_up(ctx).await?;
                match queries::municipality(&self.pool, code.as_str())
                    .await
                    .map_err(db_problem)?
                {
                    Some(view) => Ok(Reply::value(view)),
                    None => Err(Problem::not_found(
                        "no municipality is registered under this code",
                    )),
                }
            }
            endpoints::LIST_MUNICIPALITIES => {
                let q: ListMunicipalities = incoming.json()?;
                if let Some(p) = &q.prefecture {
                    let ok = p.len() == 2
                        && p.parse::<u8>()
                            .ok()
                            .and_then(japanese::Prefecture::from_code)
                            .is_some();
                    if !ok {
                        return Err(Invalid::new(
                            "/prefecture",
                            "a prefecture code is two digits, 01 to 47",
                        )
                        .into());
                    }
                }
                let limit = page_size(q.limit)?;
                if let Some(after) = &q.after
                    && (after.len() != 6 || !after.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(Invalid::new(
                        "/after",
                        "a page key is the 6-digit code of the last item seen",
                    )
                    .into());
                }
                self.caught_up(ctx).await?;
                let page = queries::municipalities(
                    &self.pool,
                    q.prefecture.as_deref(),
                    q.after.as_deref(),
                    limit,
                )
                .await
                .map_err(db_problem)?;
                Ok(Reply::value(page))
            }
            endpoints::GET_GROUP => {
                let q: GetGroup = incoming.json()?;
                let group_id = slug("/group_id", &q.group_id)?;
                self.caught_up(ctx).await?;
                match queries::group(&self.pool, &group_id)
                    .await
                    .map_err(db_problem)?
                {
                    Some(view) => Ok(Reply::value(view)),
                    None => Err(Problem::not_found("no such group")),
                }
            }
            endpoints::LIST_GROUPS => {
                let q: ListGroups = incoming.json()?;
                let limit = page_size(q.limit)?;
                if let Some(after) = &q.after {
                    slug("/after", after)?;
                }
                self.caught_up(ctx).await?;
                let page = queries::groups(&self.pool, q.after.as_deref(), limit)
                    .await
                    .map_err(db_problem)?;
                Ok(Reply::value(page))
            }
            endpoints::HEALTH => Ok(Reply::value(
                queries::health(&self.pool).await.map_err(db_problem)?,
            )),
            places::PLACE_OBJECTS => self.place_objects(incoming.json()?).await,
            members::INVITE_MEMBER => self.invite_member(ctx, incoming.json()?).await,
            members::ACTIVATE_ACCOUNT => self.activate_account(ctx, incoming.json()?).await,
            members::CONFIRM_SECOND_FACTOR => {
                self.confirm_second_factor(ctx, incoming.json()?).await
            }
            members::SIGN_IN => self.sign_in(ctx, incoming.json()?).await,
            members::REFRESH_SESSION => self.refresh_session(ctx, incoming.json()?).await,
            members::SIGN_OUT => self.sign_out(ctx).await,
            members::SIGN_OUT_EVERYWHERE => self.sign_out_everywhere(ctx).await,
            members::DEACTIVATE_MEMBER => self.deactivate_member(ctx, incoming.json()?).await,
            members::CHANGE_ROLES => self.change_roles(ctx, incoming.json()?).await,
            members::GET_MEMBER => self.get_member(ctx, incoming.json()?).await,
            members::LIST_MEMBERS => {
                let q: identity_api::members::ListMembers = incoming.json()?;
                let limit = page_size(q.limit)?;
                self.list_members(ctx, q, limit).await
            }
            members::JWKS => self.jwks().await,
            members::ROTATE_SIGNING_KEY => self.rotate_signing_key(ctx).await,
            members::RESET_CREDENTIALS => self.reset_credentials(ctx, incoming.json()?).await,
            members::CREATE_JOIN_LINK => self.create_join_link(ctx, incoming.json()?).await,
            members::SELF_REGISTER => self.self_register(ctx, incoming.json()?).await,
            members::VERIFY_MEMBER => self.verify_member(ctx, incoming.json()?).await,
            members::REGISTER_INTEGRATOR => self.register_integrator(ctx, incoming.json()?).await,
            members::CLIENT_TOKEN => self.client_token(incoming.json()?).await,
            e if patients::ENDPOINTS.contains(&e) => self.handle_patients(e, incoming).await,
            _ => self.handle_directory(endpoint, incoming).await,
        }
    }
}

fn page_size(limit: Option<u32>) -> Result<i64, Problem> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(i64::from(n)),
        Some(_) => {
            Err(Invalid::new("/limit", format!("a page holds 1 to {MAX_PAGE} items")).into())
        }
    }
}

/// The service's bus endpoints, all answered by [`Identity`] (see `host::Service`).
pub fn endpoints(identity: Arc<Identity>) -> Vec<Endpoint> {
    let names: Vec<&'static str> = [
        endpoints::REGISTER_MUNICIPALITY,
        endpoints::RENAME_MUNICIPALITY,
        endpoints::ADD_AREA,
        endpoints::REMOVE_AREA,
        endpoints::FORM_GROUP,
        endpoints::JOIN_GROUP,
        endpoints::LEAVE_GROUP,
        endpoints::GET_MUNICIPALITY,
        endpoints::LIST_MUNICIPALITIES,
        endpoints::GET_GROUP,
        endpoints::LIST_GROUPS,
        endpoints::REGISTER_ORGANISATION,
        endpoints::RENAME_ORGANISATION,
        endpoints::REGISTER_SITE,
        endpoints::CHANGE_SITE_DETAILS,
        endpoints::CLOSE_SITE,
        endpoints::GET_ORGANISATION,
        endpoints::LIST_ORGANISATIONS,
        endpoints::GET_SITE,
        endpoints::LIST_SITES,
        endpoints::HEALTH,
        places::PLACE_OBJECTS,
        members::INVITE_MEMBER,
        members::ACTIVATE_ACCOUNT,
        members::CONFIRM_SECOND_FACTOR,
        members::SIGN_IN,
        members::REFRESH_SESSION,
        members::SIGN_OUT,
        members::SIGN_OUT_EVERYWHERE,
        members::DEACTIVATE_MEMBER,
        members::CHANGE_ROLES,
        members::GET_MEMBER,
        members::LIST_MEMBERS,
        members::JWKS,
        members::ROTATE_SIGNING_KEY,
        members::RESET_CREDENTIALS,
        members::CREATE_JOIN_LINK,
        members::SELF_REGISTER,
        members::VERIFY_MEMBER,
        members::REGISTER_INTEGRATOR,
        members::CLIENT_TOKEN,
    ]
    .into_iter()
    .chain(patients::ENDPOINTS.iter().copied())
    .collect();
    host::endpoints(identity, &names)
}

impl host::Service for Identity {
    async fn handle(
        self: Arc<Self>,
        endpoint: &'static str,
        incoming: Incoming,
    ) -> Result<Reply, Problem> {
        Identity::handle(&self, endpoint, incoming).await
    }
}
