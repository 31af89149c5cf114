//! Bus endpoints of the directory: organisations (法人) and their service sites (事業所).
//! Same shape as the register: look up the facts a decision needs, decide purely, append
//! one event conditionally; queries read the register projection with read-your-writes.

use std::collections::BTreeSet;

use bus::{CallContext, Incoming, Reply};
use event_store::{EventStore, Position};
use identity_api::events::IdentityEvent;
use identity_api::organisations::*;
use identity_api::places::{MAX_OBJECTS, PlaceObjects, PlacedKind, Places};
use identity_api::{CONTEXT, aggregates, endpoints, service_types};
use problem::Problem;
use uuid::Uuid;

use super::{Identity, db_problem, page_size, store_problem};
use crate::domain::Invalid;
use crate::domain::municipality::{self, parse_code};
use crate::domain::numbers::{corporate_number, provider_number};
use crate::domain::organisation::{
    self, OrganisationCommand, OrganisationError, OrganisationFacts,
};
use crate::domain::site::{self, MAX_MUNICIPALITIES_SERVED, SiteCommand, SiteError, SiteFacts};
use crate::projections::register::{self, kind_text};
use crate::queries::{self, SiteFilter};

fn organisation_problem(e: OrganisationError) -> Problem {
    match e {
        OrganisationError::Invalid(i) => i.into(),
        OrganisationError::AlreadyRegistered(_) => {
            Problem::conflict("already-exists", e.to_string())
        }
        OrganisationError::NotRegistered => Problem::not_found(e.to_string()),
        OrganisationError::CorporateNumberTaken(_) => {
            let detail = e.to_string();
            Problem::conflict("already-exists", detail.clone())
                .with_field("/corporate_number", detail)
        }
    }
}

fn site_problem(e: SiteError) -> Problem {
    match e {
        SiteError::Invalid(i) => i.into(),
        SiteError::AlreadyRegistered(_) => Problem::conflict("already-exists", e.to_string()),
        SiteError::NotRegistered | SiteError::NoSuchOrganisation => {
            Problem::not_found(e.to_string())
        }
        SiteError::Closed => Problem::conflict("site-closed", e.to_string()),
        SiteError::ProviderNumberTaken(_) => {
            let detail = e.to_string();
            Problem::conflict("already-exists", detail.clone())
                .with_field("/provider_number", detail)
        }
    }
}

/// An id the service chose: a UUID written as 36 characters with hyphens, in either case.
/// The result is the lower-case form its subject uses.
fn parse_id(field: &str, value: &str) -> Result<String, Invalid> {
    match Uuid::try_parse(value) {
        Ok(id) if value.len() == 36 => Ok(id.to_string()),
        _ => Err(Invalid::new(
            field,
            "an id is a UUID: 36 characters, hex digits and hyphens",
        )),
    }
}

impl Identity {
    /// Appends the decided event, or, when the decision changes nothing, answers with
    /// where the aggregate already is.
    async fn commit(
        &self,
        ctx: &CallContext,
        aggregate_type: &str,
        id: &str,
        version: u64,
        event: Option<IdentityEvent>,
    ) -> Result<Position, Problem> {
        match event {
            Some(event) => self.append(ctx, aggregate_type, id, version, event).await,
            None => Ok(Position {
                stream: self.store.stream_name(CONTEXT),
                sequence: version,
            }),
        }
    }

    /// Waits until the register has applied every event stored so far, so a uniqueness
    /// check against it sees all earlier commands.
    pub(crate) async fn settled(&self) -> Result<(), Problem> {
        let last = self
            .store
            .last_sequence(CONTEXT)
            .await
            .map_err(store_problem)?;
        projection_runner::wait_for_position(&self.pool, register::SCHEMA, last, self.read_wait)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                projection_runner::RunnerError::Lagging { .. } => {
                    Problem::timeout("the directory has not caught up yet; try again")
                }
                other => db_problem(other),
            })
    }

    async fn organisation_exists(&self, organisation_id: &str) -> Result<bool, Problem> {
        let version = self
            .store
            .aggregate_version(CONTEXT, aggregates::ORGANISATION, organisation_id)
            .await
            .map_err(store_problem)?;
        Ok(version > 0)
    }

    /// What deciding on a site's details needs to know: which municipalities it names are
    /// registered (from the event store), the home municipality's areas, and whether
    /// another open site holds its provider number.
    async fn site_facts(&self, details: &SiteDetails, site_id: &str) -> Result<SiteFacts, Problem> {
        let mut facts = SiteFacts::default();
        if let Ok(home) = parse_code("/home_municipality", &details.home_municipality) {
            let (state, _) = self
                .load(
                    aggregates::MUNICIPALITY,
                    home.as_str(),
                    municipality::evolve,
                )
                .await?;
            if let Some(m) = state {
                facts.registered.insert(m.code);
                facts.home_areas = m.areas.into_keys().collect();
            }
        }
        // Past the limit the decision refuses the list anyway: look nothing up.
        let served: BTreeSet<String> = details
            .municipalities_served
            .iter()
            .take(MAX_MUNICIPALITIES_SERVED + 1)
            .filter_map(|c| parse_code("", c).ok())
            .map(|c| c.as_str().to_owned())
            .filter(|c| !facts.registered.contains(c))
            .collect();
        let found =
            futures::future::try_join_all(served.into_iter().map(|code| async move {
                self.is_registered(&code).await.map(|r| r.then_some(code))
            }))
            .await?;
        facts.registered.extend(found.into_iter().flatten());
        // Uniqueness is checked against the projection, caught up with everything stored
        // before this command. Two registrations of the same number racing each other can
        // both pass; closing that gap needs a reservation per number appended atomically
        // with the site, which the store's single-event append does not offer yet.
        if let Some(number) = &details.provider_number
            && let Ok(number) = provider_number("/provider_number", number)
        {
            self.settled().await?;
            facts.provider_number_holder =
                queries::site_holding_provider_number(&self.pool, &number, site_id)
                    .await
                    .map_err(db_problem)?;
        }
        Ok(facts)
    }

    /// Who may change the directory: the operator anywhere, the secretariat for the
    /// organisations and sites of its own municipality (by the shared permission rules).
    /// Reads are open to every signed-in member the gateway let through.
    async fn may_change_directory(
        &self,
        ctx: &bus::CallContext,
        endpoint: &str,
        body: &[u8],
    ) -> Result<(), Problem> {
        use permissions::{Action, Relationship};
        let (action, mut municipalities) = match endpoint {
            endpoints::REGISTER_ORGANISATION | endpoints::RENAME_ORGANISATION => {
                (Action::ManageOrganisations, Vec::new())
            }
            endpoints::REGISTER_SITE | endpoints::CHANGE_SITE_DETAILS | endpoints::CLOSE_SITE => {
                (Action::ManageSites, Vec::new())
            }
            _ => return Ok(()),
        };
        if ctx.actor == "operator:bootstrap" {
            return Ok(());
        }
        let Some(caller) = &ctx.caller else {
            return Err(Problem::unauthenticated("sign in first"));
        };
        let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        // The municipality the change concerns: given in the body, and the existing
        // entry's (so nobody moves another municipality's entry into their own).
        if let Some(m) = text(&value["home_municipality"])
            .or_else(|| text(&value["details"]["home_municipality"]))
        {
            municipalities.push(m);
        }
        self.settled().await?;
        let client = self.pool.get().await.map_err(db_problem)?;
        if let Some(id) =
            text(&value["organisation_id"]).filter(|_| endpoint == endpoints::RENAME_ORGANISATION)
        {
            let row = client
                .query_opt("SELECT home_municipality FROM register.organisations WHERE organisation_id = $1", &[&id])
                .await
                .map_err(db_problem)?;
            municipalities.extend(row.map(|r| r.get::<_, String>(0)));
        }
        if let Some(id) = text(&value["site_id"]) {
            let row = client
                .query_opt(
                    "SELECT home_municipality FROM register.sites WHERE site_id = $1",
                    &[&id],
                )
                .await
                .map_err(db_problem)?;
            municipalities.extend(row.map(|r| r.get::<_, String>(0)));
        }
        let own = !municipalities.is_empty()
            && municipalities
                .iter()
                .all(|m| caller.municipality.as_deref() == Some(m.as_str()));
        let ties: &[Relationship] = if own {
            &[Relationship::OwnMunicipality]
        } else {
            &[]
        };
        if permissions::decide(&caller.subject, action, ties).is_allowed() {
            Ok(())
        } else {
            Err(Problem::forbidden(
                "only the operator, or the secretariat of the municipality concerned",
            ))
        }
    }

    pub(super) async fn handle_directory(
        &self,
        endpoint: &str,
        incoming: Incoming,
    ) -> Result<Reply, Problem> {
        let ctx = &incoming.ctx;
        self.may_change_directory(ctx, endpoint, &incoming.body)
            .await?;
        match endpoint {
            endpoints::REGISTER_ORGANISATION => {
                let c: NewOrganisation = incoming.json()?;
                let organisation_id = Uuid::now_v7().to_string();
                let home_registered = self.is_registered(&c.home_municipality).await?;
                // Checked against the projection like provider numbers (see `site_facts`).
                let corporate_number_holder = match c
                    .corporate_number
                    .as_deref()
                    .map(|n| corporate_number("/corporate_number", n))
                {
                    Some(Ok(number)) => {
                        self.settled().await?;
                        queries::organisation_holding_corporate_number(&self.pool, &number)
                            .await
                            .map_err(db_problem)?
                    }
                    _ => None,
                };
                let event = organisation::decide(
                    None,
                    OrganisationCommand::Register {
                        organisation_id: organisation_id.clone(),
                        name: c.name,
                        name_kana: c.name_kana,
                        corporate_number: c.corporate_number,
                        kind: c.kind,
                        home_municipality: c.home_municipality,
                        facts: OrganisationFacts {
                            home_registered,
                            corporate_number_holder,
                        },
                    },
                )
                .map_err(organisation_problem)?;
                let position = self
                    .commit(ctx, aggregates::ORGANISATION, &organisation_id, 0, event)
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "organisation_id": organisation_id }),
                    position,
                ))
            }
            endpoints::RENAME_ORGANISATION => {
                let c: RenameOrganisation = incoming.json()?;
                let organisation_id = parse_id("/organisation_id", &c.organisation_id)?;
                let (state, version) = self
                    .load(
                        aggregates::ORGANISATION,
                        &organisation_id,
                        organisation::evolve,
                    )
                    .await?;
                let event = organisation::decide(
                    state.as_ref(),
                    OrganisationCommand::Rename {
                        name: c.change.name,
                        name_kana: c.change.name_kana,
                    },
                )
                .map_err(organisation_problem)?;
                let position = self
                    .commit(
                        ctx,
                        aggregates::ORGANISATION,
                        &organisation_id,
                        version,
                        event,
                    )
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "organisation_id": organisation_id }),
                    position,
                ))
            }
            endpoints::REGISTER_SITE => {
                let c: RegisterSite = incoming.json()?;
                let organisation_id = parse_id("/organisation_id", &c.organisation_id)?;
                let site_id = Uuid::now_v7().to_string();
                let organisation_registered = self.organisation_exists(&organisation_id).await?;
                let facts = if organisation_registered {
                    self.site_facts(&c.details, &site_id).await?
                } else {
                    SiteFacts::default()
                };
                let event = site::decide(
                    None,
                    SiteCommand::Register {
                        site_id: site_id.clone(),
                        organisation_id: organisation_id.clone(),
                        organisation_registered,
                        details: c.details,
                        facts,
                    },
                )
                .map_err(site_problem)?;
                let position = self
                    .commit(ctx, aggregates::SITE, &site_id, 0, event)
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "site_id": site_id, "organisation_id": organisation_id }),
                    position,
                ))
            }
            endpoints::CHANGE_SITE_DETAILS => {
                let c: ChangeSiteDetails = incoming.json()?;
                let site_id = parse_id("/site_id", &c.site_id)?;
                let (state, version) = self.load(aggregates::SITE, &site_id, site::evolve).await?;
                // An unknown or closed site is refused whatever the details say.
                let facts = match &state {
                    Some(s) if !s.closed => self.site_facts(&c.details, &site_id).await?,
                    _ => SiteFacts::default(),
                };
                let event = site::decide(
                    state.as_ref(),
                    SiteCommand::ChangeDetails {
                        details: c.details,
                        facts,
                    },
                )
                .map_err(site_problem)?;
                let position = self
                    .commit(ctx, aggregates::SITE, &site_id, version, event)
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "site_id": site_id }),
                    position,
                ))
            }
            endpoints::CLOSE_SITE => {
                let c: CloseSite = incoming.json()?;
                let site_id = parse_id("/site_id", &c.site_id)?;
                let (state, version) = self.load(aggregates::SITE, &site_id, site::evolve).await?;
                let event =
                    site::decide(state.as_ref(), SiteCommand::Close).map_err(site_problem)?;
                let position = self
                    .commit(ctx, aggregates::SITE, &site_id, version, event)
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "site_id": site_id }),
                    position,
                ))
            }
            endpoints::GET_ORGANISATION => {
                let q: GetOrganisation = incoming.json()?;
                let organisation_id = parse_id("/organisation_id", &q.organisation_id)?;
                self.caught_up(ctx).await?;
                match queries::organisation(&self.pool, &organisation_id)
                    .await
                    .map_err(db_problem)?
                {
                    Some(view) => Ok(Reply::value(view)),
                    None => Err(Problem::not_found("no such organisation")),
                }
            }
            endpoints::LIST_ORGANISATIONS => {
                let q: ListOrganisations = incoming.json()?;
                let limit = page_size(q.limit)?;
                let after = q
                    .after
                    .as_deref()
                    .map(|a| parse_id("/after", a))
                    .transpose()?;
                self.caught_up(ctx).await?;
                match queries::organisations(&self.pool, after.as_deref(), limit)
                    .await
                    .map_err(db_problem)?
                {
                    Some(page) => Ok(Reply::value(page)),
                    None => Err(Invalid::new(
                        "/after",
                        "a page key is the id of the last organisation seen",
                    )
                    .into()),
                }
            }
            endpoints::GET_SITE => {
                let q: GetSite = incoming.json()?;
                let site_id = parse_id("/site_id", &q.site_id)?;
                self.caught_up(ctx).await?;
                match queries::site(&self.pool, &site_id)
                    .await
                    .map_err(db_problem)?
                {
                    Some(view) => Ok(Reply::value(view)),
                    None => Err(Problem::not_found("no such site")),
                }
            }
            endpoints::LIST_SITES => {
                let q: ListSites = incoming.json()?;
                let limit = page_size(q.limit)?;
                let municipality = q
                    .municipality
                    .as_deref()
                    .map(|m| parse_code("/municipality", m).map(|c| c.as_str().to_owned()))
                    .transpose()?;
                let service_type = match q.service_type.as_deref() {
                    None => None,
                    Some(t) => match service_types::find(&t.trim().to_ascii_uppercase()) {
                        Some(known) => Some(known.code.to_owned()),
                        None => {
                            return Err(Invalid::new(
                                "/service_type",
                                "not a service type code of the long-term care insurance",
                            )
                            .into());
                        }
                    },
                };
                let organisation_id = q
                    .organisation_id
                    .as_deref()
                    .map(|o| parse_id("/organisation_id", o))
                    .transpose()?;
                let after = q
                    .after
                    .as_deref()
                    .map(|a| parse_id("/after", a))
                    .transpose()?;
                let filter = SiteFilter {
                    municipality,
                    service_type,
                    kind: q.kind.as_ref().map(kind_text),
                    organisation_id,
                    include_closed: q.include_closed.unwrap_or(false),
                };
                self.caught_up(ctx).await?;
                match queries::sites(&self.pool, &filter, after.as_deref(), limit)
                    .await
                    .map_err(db_problem)?
                {
                    Some(page) => Ok(Reply::value(page)),
                    None => Err(Invalid::new(
                        "/after",
                        "a page key is the id of the last site seen",
                    )
                    .into()),
                }
            }
            _ => Err(Problem::not_found("no such endpoint")),
        }
    }

    /// The municipality of each object, for the gateway's check of the ids in a body. Reads
    /// once the register (and, for patients, the care projection) has every event stored,
    /// so an object registered a moment ago is placed.
    pub(crate) async fn place_objects(&self, q: PlaceObjects) -> Result<Reply, Problem> {
        if q.objects.len() > MAX_OBJECTS {
            return Err(Problem::bad_request("too many objects to place"));
        }
        self.settled().await?;
        if q.objects.iter().any(|o| o.kind == PlacedKind::Patient) {
            let last = self
                .store
                .last_sequence(CONTEXT)
                .await
                .map_err(store_problem)?;
            projection_runner::wait_for_position(
                &self.pool,
                crate::projections::care::SCHEMA,
                last,
                self.read_wait,
            )
            .await
            .map_err(|_| Problem::timeout("the register has not caught up yet; try again"))?;
        }
        let client = self
            .pool
            .get()
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        let mut municipalities = Vec::with_capacity(q.objects.len());
        for object in &q.objects {
            // Ids are UUIDs, read in either case; anything else names nothing.
            let Ok(id) = Uuid::parse_str(&object.id) else {
                municipalities.push(None);
                continue;
            };
            let sql = match object.kind {
                PlacedKind::Site => {
                    "SELECT home_municipality FROM register.sites WHERE site_id = $1"
                }
                PlacedKind::Organisation => {
                    "SELECT home_municipality FROM register.organisations WHERE organisation_id = $1"
                }
                PlacedKind::Member => {
                    "SELECT municipality FROM register.members WHERE member_id = $1"
                }
                PlacedKind::Patient => {
                    "SELECT home_municipality FROM care.patients WHERE patient_id = $1"
                }
            };
            let row = client
                .query_opt(sql, &[&id.to_string()])
                .await
                .map_err(db_problem)?;
            municipalities.push(row.map(|r| r.get::<_, String>(0)));
        }
        Ok(Reply::value(Places { municipalities }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hyphenated_uuids_read_in_either_case() {
        let id = "0190A0C0-0000-7000-8000-00000000000A";
        assert_eq!(
            parse_id("/site_id", id).as_deref(),
            Ok("0190a0c0-0000-7000-8000-00000000000a")
        );
        for bad in [
            "0190a0c000007000800000000000000a",
            "{0190a0c0-0000-7000-8000-00000000000a}",
            "x",
            "",
        ] {
            assert_eq!(parse_id("/site_id", bad).unwrap_err().field, "/site_id");
        }
    }
}
