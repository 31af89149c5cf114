//! The register: municipalities, their areas, groups and members; organisations and their
//! service sites with the service types they hold and the municipalities they serve.

use deadpool_postgres::Transaction;
use event_store::{EventContract, RecordedEvent};
use identity_api::events::IdentityEvent;
use projection_runner::{ApplyError, Migration, Projection, Statements, params};

/// The projection (schema `register`).
#[derive(Debug, Default)]
pub struct Register;

/// Its schema name.
pub const SCHEMA: &str = "register";

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "0001_register",
        sql: include_str!("../../migrations/0001_register.sql"),
    },
    Migration {
        version: "0002_organisations_sites",
        sql: include_str!("../../migrations/0002_organisations_sites.sql"),
    },
    Migration {
        version: "0003_members",
        sql: include_str!("../../migrations/0003_members.sql"),
    },
    Migration {
        version: "0004_member_verification",
        sql: include_str!("../../migrations/0004_member_verification.sql"),
    },
];

pub(crate) fn kind_text<T: serde::Serialize>(kind: &T) -> String {
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
            "organisations",
            "sites",
            "site_service_types",
            "site_municipalities",
            "members",
        ]
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

/// The statement one event makes (none for the events the register does not keep).
fn write(event: &RecordedEvent, out: &mut Statements) -> Result<(), ApplyError> {
    let env = &event.envelope;
    let at = env.occurred_at;
    let decoded = IdentityEvent::decode(&env.event_type, env.schema_version, env.payload.clone())?;
    use IdentityEvent as E;
    match decoded {
        E::MunicipalityRegistered {
            code,
            name,
            name_kana,
            prefecture_code,
        } => {
            let key = japanese::gojuon_key(&name_kana);
            out.push(
                    "INSERT INTO municipalities (code, name, name_kana, reading_key, prefecture_code, registered_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                    params![code, name, name_kana, key, prefecture_code, at],
                );
        }
        E::MunicipalityRenamed {
            code,
            name,
            name_kana,
        } => {
            let key = japanese::gojuon_key(&name_kana);
            out.push(
                    "UPDATE municipalities SET name = $2, name_kana = $3, reading_key = $4, updated_at = $5 WHERE code = $1",
                    params![code, name, name_kana, key, at],
                );
        }
        E::AreaAdded {
            code,
            area_id,
            kind,
            name,
            name_kana,
        } => {
            out.push(
                    "WITH a AS (INSERT INTO areas (municipality_code, area_id, kind, name, name_kana, added_at)
                                VALUES ($1, $2, $3, $4, $5, $6))
                     UPDATE municipalities SET updated_at = $6 WHERE code = $1",
                    params![code, area_id, kind_text(&kind), name, name_kana, at],
                );
        }
        E::AreaRemoved { code, area_id } => {
            out.push(
                "WITH a AS (DELETE FROM areas WHERE municipality_code = $1 AND area_id = $2)
                     UPDATE municipalities SET updated_at = $3 WHERE code = $1",
                params![code, area_id, at],
            );
        }
        E::MunicipalityGroupFormed {
            group_id,
            kind,
            name,
            name_kana,
            members,
        } => {
            out.push(
                    "WITH g AS (INSERT INTO municipality_groups (group_id, kind, name, name_kana, formed_at)
                                VALUES ($1, $2, $3, $4, $5))
                     INSERT INTO group_members (group_id, municipality_code, joined_at)
                     SELECT $1, m, $5 FROM unnest($6::text[]) AS m",
                    params![group_id, kind_text(&kind), name, name_kana, at, members],
                );
        }
        E::MunicipalityJoinedGroup { group_id, code } => {
            out.push(
                    "INSERT INTO group_members (group_id, municipality_code, joined_at) VALUES ($1, $2, $3)",
                    params![group_id, code, at],
                );
        }
        E::MunicipalityLeftGroup { group_id, code } => {
            out.push(
                "DELETE FROM group_members WHERE group_id = $1 AND municipality_code = $2",
                params![group_id, code],
            );
        }
        E::OrganisationRegistered {
            organisation_id,
            name,
            name_kana,
            corporate_number,
            kind,
            home_municipality,
        } => {
            let key = japanese::gojuon_key(&name_kana);
            out.push(
                    "INSERT INTO organisations (organisation_id, name, name_kana, reading_key, corporate_number, kind, home_municipality, registered_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                    params![organisation_id, name, name_kana, key, corporate_number, kind_text(&kind), home_municipality, at],
                );
        }
        E::OrganisationRenamed {
            organisation_id,
            name,
            name_kana,
        } => {
            let key = japanese::gojuon_key(&name_kana);
            out.push(
                    "UPDATE organisations SET name = $2, name_kana = $3, reading_key = $4, updated_at = $5 WHERE organisation_id = $1",
                    params![organisation_id, name, name_kana, key, at],
                );
        }
        E::SiteRegistered {
            site_id,
            organisation_id,
            entry: e,
        } => {
            let key = japanese::gojuon_key(&e.name_kana);
            out.push(
                    "WITH s AS (INSERT INTO sites (site_id, organisation_id, provider_number, name, name_kana, reading_key, kind, home_municipality, area_id, address, phone, fax, contact_24h, registered_at, updated_at)
                                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)),
                          t AS (INSERT INTO site_service_types (site_id, service_type) SELECT $1, t FROM unnest($15::text[]) AS t)
                     INSERT INTO site_municipalities (site_id, municipality_code) SELECT $1, m FROM unnest($16::text[]) AS m",
                    params![site_id, organisation_id, e.provider_number, e.name, e.name_kana, key, kind_text(&e.kind), e.home_municipality, e.area_id, e.address, e.phone, e.fax, e.contact_24h, at, e.service_types, e.municipalities_served],
                );
        }
        E::SiteDetailsChanged { site_id, entry: e } => {
            let key = japanese::gojuon_key(&e.name_kana);
            // Rows that stay are left alone and only the difference is deleted or
            // inserted: one statement must not delete and insert the same key.
            out.push(
                    "WITH s AS (UPDATE sites SET provider_number = $2, name = $3, name_kana = $4, reading_key = $5, kind = $6,
                                       home_municipality = $7, area_id = $8, address = $9, phone = $10, fax = $11, contact_24h = $12, updated_at = $13
                                WHERE site_id = $1),
                          dt AS (DELETE FROM site_service_types WHERE site_id = $1 AND NOT (service_type = ANY($14::text[]))),
                          it AS (INSERT INTO site_service_types (site_id, service_type) SELECT $1, t FROM unnest($14::text[]) AS t ON CONFLICT DO NOTHING),
                          dm AS (DELETE FROM site_municipalities WHERE site_id = $1 AND NOT (municipality_code = ANY($15::text[])))
                     INSERT INTO site_municipalities (site_id, municipality_code) SELECT $1, m FROM unnest($15::text[]) AS m ON CONFLICT DO NOTHING",
                    params![site_id, e.provider_number, e.name, e.name_kana, key, kind_text(&e.kind), e.home_municipality, e.area_id, e.address, e.phone, e.fax, e.contact_24h, at, e.service_types, e.municipalities_served],
                );
        }
        E::SiteClosed { site_id } => {
            out.push(
                "UPDATE sites SET closed_at = $2, updated_at = $2 WHERE site_id = $1",
                params![site_id, at],
            );
        }
        E::MemberInvited {
            member_id,
            name,
            name_kana,
            profession,
            roles,
            sites,
            municipality,
            ..
        } => {
            let key = japanese::gojuon_key(&name_kana);
            let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            out.push(
                    "INSERT INTO members (member_id, name, name_kana, reading_key, profession, roles, sites, municipality, status, invited_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'invited', $9, $9)",
                    params![member_id, name, name_kana, key, profession.as_str(), roles, sites, municipality, at],
                );
        }
        E::MemberSelfRegistered {
            member_id,
            name,
            name_kana,
            profession,
            municipality,
        } => {
            let key = japanese::gojuon_key(&name_kana);
            let roles = vec![permissions::Role::BroadcastRecipient.as_str()];
            let sites: Vec<String> = Vec::new();
            out.push(
                    "INSERT INTO members (member_id, name, name_kana, reading_key, profession, roles, sites, municipality, status, verified, invited_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'activating', false, $9, $9)",
                    params![member_id, name, name_kana, key, profession.as_str(), roles, sites, municipality, at],
                );
        }
        E::MemberVerified { member_id } => {
            out.push(
                    "UPDATE members SET verified = true, updated_at = $2,
                           status = CASE WHEN status = 'awaiting_verification' THEN 'active' ELSE status END
                         WHERE member_id = $1",
                    params![member_id, at],
                );
        }
        E::MemberActivated { member_id } => set_status(out, member_id, "activating", at),
        E::SecondFactorEnrolled { member_id } => {
            out.push(
                    "UPDATE members SET updated_at = $2,
                           status = CASE WHEN verified THEN 'active' ELSE 'awaiting_verification' END
                         WHERE member_id = $1",
                    params![member_id, at],
                );
        }
        E::CredentialsReset { member_id, .. } => set_status(out, member_id, "invited", at),
        E::MemberDeactivated { member_id, .. } => set_status(out, member_id, "deactivated", at),
        E::MemberRolesChanged {
            member_id, roles, ..
        } => {
            let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            out.push(
                "UPDATE members SET roles = $2, updated_at = $3 WHERE member_id = $1",
                params![member_id, roles, at],
            );
        }
        // Sign-in facts are for the audit log, not the register.
        E::MemberSignedIn { .. }
        | E::SignInFailed { .. }
        | E::MemberLockedOut { .. }
        | E::SessionRevoked { .. }
        | E::SigningKeyRotated { .. }
        | E::IntegratorRegistered { .. }
        | E::IntegratorRevoked { .. } => {}
        // Patients, consents and teams are another projection's (issue 5).
        E::PatientRegistered { .. }
        | E::PatientMoved { .. }
        | E::CareLevelCertified { .. }
        | E::PatientCareEnded { .. }
        | E::ConsentRecorded { .. }
        | E::ConsentAmended { .. }
        | E::ConsentActivated { .. }
        | E::ConsentRejected { .. }
        | E::ConsentWithdrawn { .. }
        | E::ConsentExpired { .. }
        | E::TeamMemberAdded { .. }
        | E::TeamMemberRemoved { .. }
        | E::Contact24hChanged { .. }
        | E::FamilyContactAdded { .. }
        | E::FamilyContactRemoved { .. }
        | E::BreakGlassOpened { .. }
        | E::BreakGlassEnded { .. }
        | E::DocumentAttached { .. }
        | E::PatientErased { .. } => {}
    }
    Ok(())
}

fn set_status(
    out: &mut Statements,
    member_id: String,
    status: &'static str,
    at: chrono::DateTime<chrono::Utc>,
) {
    out.push(
        "UPDATE members SET status = $2, updated_at = $3 WHERE member_id = $1",
        params![member_id, status, at],
    );
}
