//! Availability: every status a site gave, and which is its latest.

use deadpool_postgres::Transaction;
use directory_api::events::DirectoryEvent;
use event_store::{EventContract, RecordedEvent};
use projection_runner::{ApplyError, Migration, Projection, Statements, params};

/// The projection (schema `availability`).
#[derive(Debug, Default)]
pub struct Availability;

/// Its schema name.
pub const SCHEMA: &str = "availability";

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "0001_availability",
        sql: include_str!("../../migrations/availability_0001.sql"),
    },
    Migration {
        version: "0002_listings",
        sql: include_str!("../../migrations/availability_0002.sql"),
    },
];

impl Projection for Availability {
    fn name(&self) -> &'static str {
        SCHEMA
    }

    fn context(&self) -> &'static str {
        directory_api::CONTEXT
    }

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn tables(&self) -> &'static [&'static str] {
        &["statuses", "latest", "listings"]
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

fn write(event: &RecordedEvent, out: &mut Statements) -> Result<(), ApplyError> {
    let env = &event.envelope;
    let sequence = i64::try_from(event.position.sequence).unwrap_or(i64::MAX);
    match DirectoryEvent::decode(&env.event_type, env.schema_version, env.payload.clone())? {
        DirectoryEvent::AvailabilityUpdated {
            site_id,
            site_name,
            site_kind,
            municipality,
            accepting,
            conditions,
            new_clients,
            vacancies,
            by,
        } => {
            let accepting = serde_json::to_value(accepting)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.push(
                "INSERT INTO statuses (sequence, site_id, site_name, site_kind, municipality,
                                       accepting, conditions, new_clients, vacancies,
                                       updated_at, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (sequence) DO NOTHING",
                params![
                    sequence,
                    site_id.clone(),
                    site_name,
                    site_kind,
                    municipality.clone(),
                    accepting,
                    conditions,
                    new_clients.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
                    serde_json::to_value(&vacancies).unwrap_or_default(),
                    env.occurred_at,
                    serde_json::to_value(&by).unwrap_or_default()
                ],
            );
            // The latest is the one of the highest sequence: applying again changes nothing.
            out.push(
                "INSERT INTO latest (site_id, municipality, sequence) VALUES ($1, $2, $3)
                 ON CONFLICT (site_id) DO UPDATE
                    SET municipality = excluded.municipality, sequence = excluded.sequence
                  WHERE latest.sequence < excluded.sequence",
                params![site_id, municipality, sequence],
            );
        }
        // The latest listing per site: applying again, or an older one, changes nothing.
        DirectoryEvent::ListingChanged {
            site_id,
            site_name,
            municipality,
            listing,
            by,
        } => out.push(
            "INSERT INTO listings (site_id, site_name, municipality, listing, updated_at,
                                   updated_by, sequence)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (site_id) DO UPDATE
                SET site_name = excluded.site_name, municipality = excluded.municipality,
                    listing = excluded.listing, updated_at = excluded.updated_at,
                    updated_by = excluded.updated_by, sequence = excluded.sequence
              WHERE listings.sequence < excluded.sequence",
            params![
                site_id,
                site_name,
                municipality,
                serde_json::to_value(&listing).unwrap_or_default(),
                env.occurred_at,
                serde_json::to_value(&by).unwrap_or_default(),
                sequence
            ],
        ),
    }
    Ok(())
}
