//! Reads of the register projection.

use deadpool_postgres::Pool;
use identity_api::municipalities::*;

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
        .query_opt(&format!("{VIEW} WHERE m.code = $1"), &[&code])
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
        .query(
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
        .query_opt(&format!("{GROUP_VIEW} WHERE g.group_id = $1"), &[&group_id])
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
        .query(
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
    let dead_letters = projection_runner::dead_letters(pool, SCHEMA).await?.len() as u64;
    Ok(ServiceHealth {
        database: true,
        checkpoint,
        dead_letters,
    })
}
