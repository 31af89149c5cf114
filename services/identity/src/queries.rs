//! Reads of the register projection: municipalities, groups, organisations and sites.

use deadpool_postgres::Pool;
use identity_api::municipalities::*;
use identity_api::organisations::{OrganisationSummary, OrganisationView, SiteView};

use crate::projections::register::SCHEMA;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("postgres")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("projection")]
    Runner(#[from] projection_runner::RunnerError),
    #[error("stored row does not match the view")]
    Shape(#[from] serde_json::Error),
}

/// Reads through statements prepared once per connection (deadpool keeps them with it): a
/// read costs one round trip instead of two, and Postgres plans it once rather than on
/// every request.
pub(crate) trait Cached {
    async fn query_cached(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>;

    async fn query_opt_cached(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, tokio_postgres::Error>;
}

impl Cached for deadpool_postgres::Object {
    async fn query_cached(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query(&statement, params).await
    }

    async fn query_opt_cached(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query_opt(&statement, params).await
    }
}

// One statement builds whole views as JSON so a page costs one round trip.
const VIEW: &str = r#"
SELECT json_build_object(
    'code', m.code, 'name', m.name, 'name_kana', m.name_kana,
    'prefecture', json_build_object('code', m.prefecture_code, 'name', ''),
    'areas', coalesce((SELECT json_agg(json_build_object('area_id', a.area_id, 'kind', a.kind, 'name', a.name, 'name_kana', a.name_kana) ORDER BY a.area_id)
                       FROM register.areas a WHERE a.municipality_code = m.code), '[]'::json),
    'groups', coalesce((SELECT json_agg(g.group_id ORDER BY g.group_id) FROM register.group_members g WHERE g.municipality_code = m.code), '[]'::json),
    'registered_at', m.registered_at, 'updated_at', m.updated_at)
FROM register.municipalities m
"#;

fn view(value: serde_json::Value) -> Result<MunicipalityView, QueryError> {
    let mut view: MunicipalityView = serde_json::from_value(value)?;
    if let Some(p) = view
        .prefecture
        .code
        .parse::<u8>()
        .ok()
        .and_then(japanese::Prefecture::from_code)
    {
        view.prefecture.name = p.name().to_owned();
    }
    Ok(view)
}

pub async fn municipality(pool: &Pool, code: &str) -> Result<Option<MunicipalityView>, QueryError> {
    debug_assert_eq!(SCHEMA, "register");
    let client = pool.get().await?;
    let row = client
        .query_opt_cached(&format!("{VIEW} WHERE m.code = $1"), &[&code])
        .await?;
    row.map(|r| view(r.get(0))).transpose()
}

pub async fn municipalities(
    pool: &Pool,
    prefecture: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<MunicipalityView>, QueryError> {
    let client = pool.get().await?;
    let rows = client
        .query_cached(
            &format!(
                "{VIEW} WHERE ($1::text IS NULL OR m.prefecture_code = $1)
                   AND ($2::text IS NULL OR m.code > $2)
                 ORDER BY m.code LIMIT $3"
            ),
            &[&prefecture, &after, &(limit + 1)],
        )
        .await?;
    let items = rows
        .into_iter()
        .map(|r| view(r.get(0)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page(items, limit, |m| m.code.clone()))
}

/// Cuts `limit + 1` fetched rows to a page; the extra row only tells that another page exists.
fn page<T>(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
    let next_after = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next_after }
}

const GROUP_VIEW: &str = r#"
SELECT json_build_object(
    'group_id', g.group_id, 'kind', g.kind, 'name', g.name, 'name_kana', g.name_kana, 'formed_at', g.formed_at,
    'members', coalesce((SELECT json_agg(json_build_object('code', m.code, 'name', m.name) ORDER BY m.code)
                         FROM register.group_members gm JOIN register.municipalities m ON m.code = gm.municipality_code
                         WHERE gm.group_id = g.group_id), '[]'::json))
FROM register.municipality_groups g
"#;

pub async fn group(pool: &Pool, group_id: &str) -> Result<Option<GroupView>, QueryError> {
    let client = pool.get().await?;
    let row = client
        .query_opt_cached(&format!("{GROUP_VIEW} WHERE g.group_id = $1"), &[&group_id])
        .await?;
    Ok(row.map(|r| serde_json::from_value(r.get(0))).transpose()?)
}

pub async fn groups(
    pool: &Pool,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<GroupView>, QueryError> {
    let client = pool.get().await?;
    let rows = client
        .query_cached(
            &format!("{GROUP_VIEW} WHERE ($1::text IS NULL OR g.group_id > $1) ORDER BY g.group_id LIMIT $2"),
            &[&after, &(limit + 1)],
        )
        .await?;
    let items = rows
        .into_iter()
        .map(|r| serde_json::from_value::<GroupView>(r.get(0)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page(items, limit, |g| g.group_id.clone()))
}

pub async fn health(pool: &Pool) -> Result<ServiceHealth, QueryError> {
    let checkpoint = projection_runner::checkpoint(pool, SCHEMA).await?;
    let dead_letters = projection_runner::dead_letters(pool, SCHEMA).await?.len()
        + projection_runner::dead_letters(pool, crate::projections::care::SCHEMA)
            .await?
            .len();
    let dead_letters = dead_letters as u64;
    Ok(ServiceHealth {
        database: true,
        checkpoint,
        dead_letters,
    })
}

const ORGANISATION_SUMMARY: &str = r#"
SELECT json_build_object(
    'organisation_id', o.organisation_id, 'name', o.name, 'name_kana', o.name_kana,
    'corporate_number', o.corporate_number, 'kind', o.kind,
    'home_municipality', json_build_object('code', m.code, 'name', m.name),
    'registered_at', o.registered_at, 'updated_at', o.updated_at)
FROM register.organisations o JOIN register.municipalities m ON m.code = o.home_municipality
"#;

const ORGANISATION_VIEW: &str = r#"
SELECT json_build_object(
    'organisation_id', o.organisation_id, 'name', o.name, 'name_kana', o.name_kana,
    'corporate_number', o.corporate_number, 'kind', o.kind,
    'home_municipality', json_build_object('code', m.code, 'name', m.name),
    'sites', coalesce((SELECT json_agg(json_build_object('site_id', s.site_id, 'provider_number', s.provider_number,
                                                         'name', s.name, 'name_kana', s.name_kana, 'kind', s.kind,
                                                         'closed_at', s.closed_at) ORDER BY s.reading_key, s.site_id)
                       FROM register.sites s WHERE s.organisation_id = o.organisation_id), '[]'::json),
    'registered_at', o.registered_at, 'updated_at', o.updated_at)
FROM register.organisations o JOIN register.municipalities m ON m.code = o.home_municipality
"#;

pub async fn organisation(
    pool: &Pool,
    organisation_id: &str,
) -> Result<Option<OrganisationView>, QueryError> {
    let client = pool.get().await?;
    let row = client
        .query_opt_cached(
            &format!("{ORGANISATION_VIEW} WHERE o.organisation_id = $1"),
            &[&organisation_id],
        )
        .await?;
    Ok(row.map(|r| serde_json::from_value(r.get(0))).transpose()?)
}

/// A page of organisations in reading order; `None` when `after` names no organisation.
pub async fn organisations(
    pool: &Pool,
    after: Option<&str>,
    limit: i64,
) -> Result<Option<Page<OrganisationSummary>>, QueryError> {
    let client = pool.get().await?;
    if let Some(after) = after {
        let known = client
            .query_opt_cached(
                "SELECT 1 FROM register.organisations WHERE organisation_id = $1",
                &[&after],
            )
            .await?;
        if known.is_none() {
            return Ok(None);
        }
    }
    let rows = client
        .query_cached(
            &format!(
                "{ORGANISATION_SUMMARY}
                 WHERE ($1::text IS NULL OR (o.reading_key, o.organisation_id) >
                        (SELECT k.reading_key, k.organisation_id FROM register.organisations k WHERE k.organisation_id = $1))
                 ORDER BY o.reading_key, o.organisation_id LIMIT $2"
            ),
            &[&after, &(limit + 1)],
        )
        .await?;
    let items = rows
        .into_iter()
        .map(|r| serde_json::from_value::<OrganisationSummary>(r.get(0)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(page(items, limit, |o| o.organisation_id.clone())))
}

const SITE_VIEW: &str = r#"
SELECT json_build_object(
    'site_id', s.site_id,
    'organisation', json_build_object('organisation_id', o.organisation_id, 'name', o.name),
    'provider_number', s.provider_number, 'name', s.name, 'name_kana', s.name_kana, 'kind', s.kind,
    'service_types', coalesce((SELECT json_agg(json_build_object('code', t.service_type, 'name', '') ORDER BY t.service_type)
                               FROM register.site_service_types t WHERE t.site_id = s.site_id), '[]'::json),
    'home_municipality', json_build_object('code', hm.code, 'name', hm.name),
    'area_id', s.area_id,
    'municipalities_served', coalesce((SELECT json_agg(json_build_object('code', mm.code, 'name', mm.name) ORDER BY mm.code)
                                       FROM register.site_municipalities sm JOIN register.municipalities mm ON mm.code = sm.municipality_code
                                       WHERE sm.site_id = s.site_id), '[]'::json),
    'address', s.address, 'phone', s.phone, 'fax', s.fax, 'contact_24h', s.contact_24h,
    'registered_at', s.registered_at, 'updated_at', s.updated_at, 'closed_at', s.closed_at)
FROM register.sites s
JOIN register.organisations o ON o.organisation_id = s.organisation_id
JOIN register.municipalities hm ON hm.code = s.home_municipality
"#;

fn site_view(value: serde_json::Value) -> Result<SiteView, QueryError> {
    let mut view: SiteView = serde_json::from_value(value)?;
    for t in &mut view.service_types {
        if let Some(known) = identity_api::service_types::find(&t.code) {
            t.name = known.name_ja.to_owned();
        }
    }
    Ok(view)
}

pub async fn site(pool: &Pool, site_id: &str) -> Result<Option<SiteView>, QueryError> {
    let client = pool.get().await?;
    let row = client
        .query_opt_cached(&format!("{SITE_VIEW} WHERE s.site_id = $1"), &[&site_id])
        .await?;
    row.map(|r| site_view(r.get(0))).transpose()
}

/// What a site list is filtered by, checked and normalised.
#[derive(Debug, Default)]
pub struct SiteFilter {
    pub municipality: Option<String>,
    pub service_type: Option<String>,
    pub kind: Option<String>,
    pub organisation_id: Option<String>,
    pub include_closed: bool,
}

/// A page of sites in reading order, then id; `None` when `after` names no site.
pub async fn sites(
    pool: &Pool,
    filter: &SiteFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Option<Page<SiteView>>, QueryError> {
    let client = pool.get().await?;
    if let Some(after) = after {
        let known = client
            .query_opt_cached("SELECT 1 FROM register.sites WHERE site_id = $1", &[&after])
            .await?;
        if known.is_none() {
            return Ok(None);
        }
    }
    let rows = client
        .query_cached(
            &format!(
                "{SITE_VIEW}
                 WHERE ($1::text IS NULL OR EXISTS (SELECT 1 FROM register.site_municipalities x
                                                    WHERE x.site_id = s.site_id AND x.municipality_code = $1))
                   AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM register.site_service_types x
                                                    WHERE x.site_id = s.site_id AND x.service_type = $2))
                   AND ($3::text IS NULL OR s.kind = $3)
                   AND ($4::text IS NULL OR s.organisation_id = $4)
                   AND ($5::bool OR s.closed_at IS NULL)
                   AND ($6::text IS NULL OR (s.reading_key, s.site_id) >
                        (SELECT k.reading_key, k.site_id FROM register.sites k WHERE k.site_id = $6))
                 ORDER BY s.reading_key, s.site_id LIMIT $7"
            ),
            &[
                &filter.municipality,
                &filter.service_type,
                &filter.kind,
                &filter.organisation_id,
                &filter.include_closed,
                &after,
                &(limit + 1),
            ],
        )
        .await?;
    let items = rows
        .into_iter()
        .map(|r| site_view(r.get(0)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(page(items, limit, |s| s.site_id.clone())))
}

/// The open site, other than `except`, that holds a provider number, if any.
pub async fn site_holding_provider_number(
    pool: &Pool,
    provider_number: &str,
    except: &str,
) -> Result<Option<String>, QueryError> {
    let client = pool.get().await?;
    let row = client
        .query_opt_cached(
            "SELECT site_id FROM register.sites
             WHERE provider_number = $1 AND closed_at IS NULL AND site_id <> $2
             ORDER BY site_id LIMIT 1",
            &[&provider_number, &except],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The organisation that holds a corporate number, if any.
pub async fn organisation_holding_corporate_number(
    pool: &Pool,
    corporate_number: &str,
) -> Result<Option<String>, QueryError> {
    let client = pool.get().await?;
    let row = client
        .query_opt_cached(
            "SELECT organisation_id FROM register.organisations
             WHERE corporate_number = $1 ORDER BY organisation_id LIMIT 1",
            &[&corporate_number],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// One member as the register knows them.
/// A page of one municipality's members, by id.
pub async fn members_of(
    pool: &Pool,
    municipality: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<identity_api::members::MemberView>, QueryError> {
    let client = pool.get().await?;
    let rows = client
        .query_cached(
            "SELECT json_build_object('member_id', member_id, 'name', name, 'name_kana', name_kana,
                    'profession', profession, 'roles', roles, 'sites', sites,
                    'municipality', municipality, 'status', status)
             FROM register.members
             WHERE municipality = $1 AND ($2::text IS NULL OR member_id > $2)
             ORDER BY member_id LIMIT $3",
            &[&municipality, &after, &(limit + 1)],
        )
        .await?;
    let items = rows
        .into_iter()
        .map(|r| serde_json::from_value(r.get(0)))
        .collect::<Result<Vec<identity_api::members::MemberView>, _>>()?;
    Ok(page(items, limit, |m| m.member_id.clone()))
}

pub async fn member(
    pool: &Pool,
    member_id: &str,
) -> Result<Option<identity_api::members::MemberView>, QueryError> {
    let client = pool.get().await?;
    let row = client
        .query_opt_cached(
            "SELECT json_build_object('member_id', member_id, 'name', name, 'name_kana', name_kana,
                    'profession', profession, 'roles', roles, 'sites', sites,
                    'municipality', municipality, 'status', status)
             FROM register.members WHERE member_id = $1",
            &[&member_id],
        )
        .await?;
    Ok(row.map(|r| serde_json::from_value(r.get(0))).transpose()?)
}
