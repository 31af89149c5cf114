//! The municipality register: municipalities, their areas, groups and members.

use deadpool_postgres::Transaction;
use event_store::{EventContract, RecordedEvent};
use identity_api::events::IdentityEvent;
use projection_runner::{ApplyError, Migration, Projection};

/// The projection (schema `register`).
#[derive(Debug, Default)]
pub struct Register;

/// Its schema name.
pub const SCHEMA: &str = "register";

const MIGRATIONS: &[Migration] = &[Migration {
    version: "0001_register",
    sql: include_str!("../../migrations/0001_register.sql"),
}];

fn kind_text<T: serde::Serialize>(kind: &T) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

impl Projection for Register {
    fn name(&self) -> &'static str {
        SCHEMA
    }

    fn context(&self) -> &'static str {
        identity_api::CONTEXT
    }

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "municipalities",
            "areas",
            "municipality_groups",
            "group_members",
        ]
    }

    async fn apply(&self, tx: &Transaction<'_>, event: &RecordedEvent) -> Result<(), ApplyError> {
        let env = &event.envelope;
        let at = env.occurred_at;
        let decoded =
            IdentityEvent::decode(&env.event_type, env.schema_version, env.payload.clone())?;
        use IdentityEvent as E;
        match decoded {
            E::MunicipalityRegistered {
                code,
                name,
                name_kana,
                prefecture_code,
            } => {
                let key = japanese::gojuon_key(&name_kana);
                tx.execute(
                    &tx.prepare_cached("INSERT INTO municipalities (code, name, name_kana, reading_key, prefecture_code, registered_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6)").await?,
                    &[&code, &name, &name_kana, &key, &prefecture_code, &at],
                )
                .await?;
            }
            E::MunicipalityRenamed {
                code,
                name,
                name_kana,
            } => {
                let key = japanese::gojuon_key(&name_kana);
                tx.execute(
                    &tx.prepare_cached("UPDATE municipalities SET name = $2, name_kana = $3, reading_key = $4, updated_at = $5 WHERE code = $1").await?,
                    &[&code, &name, &name_kana, &key, &at],
                )
                .await?;
            }
            E::AreaAdded {
                code,
                area_id,
                kind,
                name,
                name_kana,
            } => {
                tx.execute(
                    &tx.prepare_cached("WITH a AS (INSERT INTO areas (municipality_code, area_id, kind, name, name_kana, added_at)
                                VALUES ($1, $2, $3, $4, $5, $6))
                     UPDATE municipalities SET updated_at = $6 WHERE code = $1").await?,
                    &[&code, &area_id, &kind_text(&kind), &name, &name_kana, &at],
                )
                .await?;
            }
            E::AreaRemoved { code, area_id } => {
                tx.execute(
                    &tx.prepare_cached("WITH a AS (DELETE FROM areas WHERE municipality_code = $1 AND area_id = $2)
                     UPDATE municipalities SET updated_at = $3 WHERE code = $1").await?,
                    &[&code, &area_id, &at],
                )
                .await?;
            }
            E::MunicipalityGroupFormed {
                group_id,
                kind,
                name,
                name_kana,
                members,
            } => {
                tx.execute(
                    &tx.prepare_cached("WITH g AS (INSERT INTO municipality_groups (group_id, kind, name, name_kana, formed_at)
                                VALUES ($1, $2, $3, $4, $5))
                     INSERT INTO group_members (group_id, municipality_code, joined_at)
                     SELECT $1, m, $5 FROM unnest($6::text[]) AS m").await?,
                    &[&group_id, &kind_text(&kind), &name, &name_kana, &at, &members],
                )
                .await?;
            }
            E::MunicipalityJoinedGroup { group_id, code } => {
                tx.execute(
                    &tx.prepare_cached("INSERT INTO group_members (group_id, municipality_code, joined_at) VALUES ($1, $2, $3)").await?,
                    &[&group_id, &code, &at],
                )
                .await?;
            }
            E::MunicipalityLeftGroup { group_id, code } => {
                tx.execute(
                    &tx.prepare_cached(
                        "DELETE FROM group_members WHERE group_id = $1 AND municipality_code = $2",
                    )
                    .await?,
                    &[&group_id, &code],
                )
                .await?;
            }
        }
        Ok(())
    }
}
