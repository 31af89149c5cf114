//! Bus endpoints. An update is checked (pure), its site placed by identity's register (name,
//! kind, municipality, organisation), allowed for the site's staff or its organisation's
//! site admins, then appended as one event; reads come from the projection, each status with
//! how fresh it is now.

use std::time::Duration;

use bus::{BusClient, CallContext, Incoming, Reply};
use clock::SharedClock;
use deadpool_postgres::Pool;
use directory_api::availability::{
    Accepting, AvailabilityBoard, AvailabilityHistory, AvailabilityUpdated, AvailabilityView,
    ChangeListing, ListAvailability, ListListings, ListingView, Listings, SiteAvailability,
    UpdateAvailability, UpdaterView, Vacancy,
};
use directory_api::endpoints as ep;
use directory_api::events::{DirectoryEvent, Updater};
use directory_api::{CONTEXT, aggregates};
use event_store::{ExpectedVersion, JetStreamStore, Visibility};
use identity_api::colleagues::{AUTHOR, Author, WhoAsks};
use identity_api::organisations::{GetSite, SiteView};
use problem::Problem;
use uuid::Uuid;

use crate::domain::availability::{self as domain, May, SiteFacts};
use crate::projections::availability::SCHEMA;

/// The service: its stream, its database, and the bus to identity's register.
pub struct Directory {
    pub store: JetStreamStore,
    pub pool: Pool,
    pub bus: BusClient,
    pub clock: SharedClock,
    pub read_wait: Duration,
    /// How long a status is fresh.
    pub fresh_for: chrono::Duration,
}

impl host::Service for Directory {
    async fn handle(
        self: std::sync::Arc<Self>,
        endpoint: &'static str,
        incoming: Incoming,
    ) -> Result<Reply, Problem> {
        let ctx = &incoming.ctx;
        match endpoint {
            ep::UPDATE_AVAILABILITY => self.update_availability(ctx, incoming.json()?).await,
            ep::LIST_AVAILABILITY => self.list_availability(ctx, incoming.json()?).await,
            ep::SITE_AVAILABILITY => self.site_availability(ctx, incoming.json()?).await,
            ep::CHANGE_LISTING => self.change_listing(ctx, incoming.json()?).await,
            ep::LIST_LISTINGS => self.list_listings(ctx, incoming.json()?).await,
            _ => Err(Problem::not_found("no such endpoint")),
        }
    }
}

fn db_problem(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "database failure");
    Problem::unavailable("the database is unavailable; try again")
}

fn no_such_site() -> Problem {
    Problem::not_found("no such site")
}

const STATUS_COLUMNS: &str = "s.site_id, s.site_name, s.site_kind, s.accepting, s.conditions,
                              s.new_clients, s.vacancies, s.updated_at, s.updated_by";

impl Directory {
    /// A status from its row, with how fresh it is now.
    fn view(&self, row: &tokio_postgres::Row) -> AvailabilityView {
        let updated_at: chrono::DateTime<chrono::Utc> = row.get(7);
        let (fresh_until, fresh, age_days) =
            domain::freshness(updated_at, self.clock.now(), self.fresh_for);
        let by: Updater = serde_json::from_value(row.get(8)).unwrap_or(Updater {
            member_id: String::new(),
            name: String::new(),
            profession: None,
            site_name: None,
        });
        let vacancies: Vec<Vacancy> = serde_json::from_value(row.get(6)).unwrap_or_default();
        AvailabilityView {
            site_id: row.get(0),
            site_name: row.get(1),
            site_kind: row.get(2),
            accepting: serde_json::from_value(serde_json::Value::String(row.get(3)))
                .unwrap_or(Accepting::No),
            conditions: row.get(4),
            new_clients: row
                .get::<_, Option<i32>>(5)
                .and_then(|n| u32::try_from(n).ok()),
            vacancies,
            updated_at,
            updated_by: UpdaterView {
                name: by.name,
                profession: by.profession,
                site_name: by.site_name,
            },
            fresh_until,
            fresh,
            age_days,
        }
    }

    /// The site as the register has it; a site nobody has (or an id that is none) is 404.
    async fn site(&self, ctx: &CallContext, site_id: &str) -> Result<SiteView, Problem> {
        if Uuid::try_parse(site_id).is_err() {
            return Err(no_such_site());
        }
        self.bus
            .ask(
                identity_api::SERVICE,
                identity_api::endpoints::GET_SITE,
                ctx,
                &GetSite {
                    site_id: site_id.to_owned(),
                },
            )
            .await
            .map_err(|p| if p.status == 404 { no_such_site() } else { p })
    }

    /// The organisations a site admin acts for: those that run their own sites (none for
    /// anyone else). A site of theirs the register no longer has is passed over; the register
    /// not answering is the caller's 503, not a refusal.
    async fn their_organisations(&self, ctx: &CallContext) -> Result<Vec<String>, Problem> {
        let mut theirs = Vec::new();
        if let Some(c) = ctx.caller.as_ref()
            && c.subject.has_role(permissions::Role::SiteAdmin)
        {
            for own in &c.sites {
                match self.site(ctx, own).await {
                    Ok(s) => theirs.push(s.organisation.organisation_id),
                    Err(p) if p.status == 404 => {}
                    Err(p) => return Err(p),
                }
            }
        }
        Ok(theirs)
    }

    /// Who is asking, as colleagues know them, acting for `site` if it is theirs.
    async fn updater(&self, ctx: &CallContext, site: &str) -> Result<Updater, Problem> {
        let author: Author = self
            .bus
            .ask(
                identity_api::SERVICE,
                AUTHOR,
                ctx,
                &WhoAsks {
                    site: Some(site.to_owned()),
                },
            )
            .await?;
        Ok(Updater {
            member_id: author.member_id,
            name: author.name,
            profession: author.profession,
            site_name: author.site_name,
        })
    }

    /// Waits (at most the read wait) until the projection has applied `sequence`.
    async fn applied(&self, sequence: u64) -> Result<(), Problem> {
        host::events::applied(
            &self.pool,
            SCHEMA,
            sequence,
            self.read_wait,
            "the directory has not caught up yet; try again",
        )
        .await
    }

    /// Waits (at most the read wait) until the projection holds the position the caller
    /// last wrote, if they say one.
    async fn caught_up(&self, ctx: &CallContext) -> Result<(), Problem> {
        let sequence = match &ctx.min_position {
            Some(p) if p.stream == self.store.stream_name(CONTEXT) => p.sequence,
            _ => return Ok(()),
        };
        self.applied(sequence).await
    }

    async fn update_availability(
        &self,
        ctx: &CallContext,
        c: UpdateAvailability,
    ) -> Result<Reply, Problem> {
        let site = self.site(ctx, &c.site_id).await?;
        let caller = ctx.caller.as_ref();
        let theirs = self.their_organisations(ctx).await?;
        let facts = SiteFacts {
            site_id: &site.site_id,
            municipality: &site.home_municipality.code,
            organisation_id: &site.organisation.organisation_id,
        };
        match domain::may_update(caller, &facts, &theirs) {
            May::Update => {}
            May::Elsewhere => return Err(no_such_site()),
            May::NotTheirs => {
                return Err(Problem::forbidden(
                    "a site's status is said by its staff or a site admin of its organisation",
                ));
            }
        }
        if site.closed_at.is_some() {
            return Err(Problem::conflict("site-closed", "the site is closed"));
        }
        let update =
            domain::checked(c.update).map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        let by = self.updater(ctx, &site.site_id).await?;
        let site_kind = serde_json::to_value(site.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let event = DirectoryEvent::AvailabilityUpdated {
            site_id: site.site_id.clone(),
            site_name: site.name.clone(),
            site_kind,
            municipality: site.home_municipality.code.clone(),
            accepting: update.accepting,
            conditions: update.conditions,
            new_clients: update.new_clients,
            vacancies: update.vacancies,
            by,
        };
        let (position, _) = host::events::append(
            &self.store,
            &self.clock,
            CONTEXT,
            ctx,
            host::events::Subject {
                visibility: Visibility::Municipality,
                municipality: Some(site.home_municipality.code.clone()),
                aggregate_type: aggregates::AVAILABILITY,
                aggregate_id: &site.site_id,
                expected: ExpectedVersion::Any,
            },
            event,
        )
        .await?;
        self.applied(position.sequence).await?;
        let sequence = i64::try_from(position.sequence).unwrap_or(i64::MAX);
        let client = self.pool.get().await.map_err(db_problem)?;
        let row = client
            .query_one(
                &format!(
                    "SELECT {STATUS_COLUMNS} FROM availability.statuses s WHERE s.sequence = $1"
                ),
                &[&sequence],
            )
            .await
            .map_err(db_problem)?;
        Ok(Reply::written(
            AvailabilityUpdated {
                status: self.view(&row),
            },
            position,
        ))
    }

    async fn list_availability(
        &self,
        ctx: &CallContext,
        _q: ListAvailability,
    ) -> Result<Reply, Problem> {
        self.caught_up(ctx).await?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let caller = ctx.caller.as_ref();
        let region = caller.is_none_or(|c| c.subject.has_role(permissions::Role::Operator));
        let rows = if region {
            client
                .query(
                    &format!(
                        "SELECT {STATUS_COLUMNS} FROM availability.latest l
                           JOIN availability.statuses s ON s.sequence = l.sequence
                          ORDER BY l.sequence DESC LIMIT 2000"
                    ),
                    &[],
                )
                .await
        } else {
            let municipality = caller
                .and_then(|c| c.municipality.clone())
                .unwrap_or_default();
            client
                .query(
                    &format!(
                        "SELECT {STATUS_COLUMNS} FROM availability.latest l
                           JOIN availability.statuses s ON s.sequence = l.sequence
                          WHERE l.municipality = $1
                          ORDER BY l.sequence DESC LIMIT 2000"
                    ),
                    &[&municipality],
                )
                .await
        }
        .map_err(db_problem)?;
        Ok(Reply::value(AvailabilityBoard {
            fresh_for_hours: self.fresh_for.num_hours(),
            sites: rows.iter().map(|r| self.view(r)).collect(),
        }))
    }

    async fn site_availability(
        &self,
        ctx: &CallContext,
        q: SiteAvailability,
    ) -> Result<Reply, Problem> {
        let site = self.site(ctx, &q.site_id).await?;
        if !domain::reads(ctx.caller.as_ref(), &site.home_municipality.code) {
            return Err(no_such_site());
        }
        self.caught_up(ctx).await?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let rows = client
            .query(
                &format!(
                    "SELECT {STATUS_COLUMNS} FROM availability.statuses s
                      WHERE s.site_id = $1 ORDER BY s.sequence DESC LIMIT 101"
                ),
                &[&site.site_id],
            )
            .await
            .map_err(db_problem)?;
        let mut views = rows.iter().map(|r| self.view(r));
        Ok(Reply::value(AvailabilityHistory {
            current: views.next(),
            earlier: views.collect(),
        }))
    }

    async fn change_listing(&self, ctx: &CallContext, c: ChangeListing) -> Result<Reply, Problem> {
        let site = self.site(ctx, &c.site_id).await?;
        let theirs = self.their_organisations(ctx).await?;
        let facts = SiteFacts {
            site_id: &site.site_id,
            municipality: &site.home_municipality.code,
            organisation_id: &site.organisation.organisation_id,
        };
        match domain::may_change_listing(ctx.caller.as_ref(), &facts, &theirs) {
            May::Update => {}
            May::Elsewhere => return Err(no_such_site()),
            May::NotTheirs => {
                return Err(Problem::forbidden(
                    "a site's listing is kept by its municipality's secretariat or a site admin of its organisation",
                ));
            }
        }
        let listing = domain::checked_listing(c.listing)
            .map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        let by = self.updater(ctx, &site.site_id).await?;
        let (position, updated_at) = host::events::append(
            &self.store,
            &self.clock,
            CONTEXT,
            ctx,
            host::events::Subject {
                visibility: Visibility::Municipality,
                municipality: Some(site.home_municipality.code.clone()),
                aggregate_type: aggregates::LISTING,
                aggregate_id: &site.site_id,
                expected: ExpectedVersion::Any,
            },
            DirectoryEvent::ListingChanged {
                site_id: site.site_id.clone(),
                site_name: site.name.clone(),
                municipality: site.home_municipality.code.clone(),
                listing: listing.clone(),
                by: by.clone(),
            },
        )
        .await?;
        self.applied(position.sequence).await?;
        Ok(Reply::written(
            ListingView {
                site_id: site.site_id,
                site_name: site.name,
                listing,
                updated_at,
                updated_by: UpdaterView {
                    name: by.name,
                    profession: by.profession,
                    site_name: by.site_name,
                },
            },
            position,
        ))
    }

    async fn list_listings(&self, ctx: &CallContext, _q: ListListings) -> Result<Reply, Problem> {
        self.caught_up(ctx).await?;
        let caller = ctx.caller.as_ref();
        let region = caller.is_none_or(|c| c.subject.has_role(permissions::Role::Operator));
        let municipality = caller
            .and_then(|c| c.municipality.clone())
            .unwrap_or_default();
        let client = self.pool.get().await.map_err(db_problem)?;
        let rows = client
            .query(
                "SELECT site_id, site_name, listing, updated_at, updated_by
                   FROM availability.listings
                  WHERE $1 OR municipality = $2
                  ORDER BY site_id LIMIT 5000",
                &[&region, &municipality],
            )
            .await
            .map_err(db_problem)?;
        let sites = rows
            .iter()
            .filter_map(|row| {
                let by: Updater = serde_json::from_value(row.get(4)).ok()?;
                Some(ListingView {
                    site_id: row.get(0),
                    site_name: row.get(1),
                    listing: serde_json::from_value(row.get(2)).ok()?,
                    updated_at: row.get(3),
                    updated_by: UpdaterView {
                        name: by.name,
                        profession: by.profession,
                        site_name: by.site_name,
                    },
                })
            })
            .collect();
        Ok(Reply::value(Listings { sites }))
    }
}
