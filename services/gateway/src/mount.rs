//! The declared routes, mounted: one router and one document from the same declarations
//! (`doors`), with one handler for every route that forwards to a service — read the path,
//! the query and the body as declared, make the bus request, call, answer.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use bus::Reply;
use doors::{Api, Call, Declaration, Input, Method, Rendered};
use problem::Problem;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{OpenApi, RefOr};

use crate::auth::Signed;
use crate::error::ApiError;
use crate::extract::{ClientAddr, MinPosition, RequestId, json_bytes};
use crate::state::AppState;

/// Every contract's routes, and the gateway's own, declared once and kept for the life of
/// the process (handlers and the access table hold on to them).
static APIS: LazyLock<Vec<Api>> = LazyLock::new(|| {
    vec![
        identity_api::api(),
        audit_api::api(),
        messaging_api::api(),
        directory_api::api(),
        crate::routes::api(),
    ]
});

/// The file routes: mounted apart, without the JSON body limit (see [`crate::app::router`]).
static FILES: LazyLock<Api> = LazyLock::new(crate::routes::files::api);

/// Every declared route.
pub fn declared() -> impl Iterator<Item = &'static dyn Declaration> {
    APIS.iter()
        .chain(std::iter::once(&*FILES))
        .flat_map(|api| api.routes.iter().map(|route| &**route))
}

/// The router and the document of the routes but the file routes.
pub fn api() -> (Router<AppState>, OpenApi) {
    mount(APIS.iter())
}

/// The router and the document of the file routes.
pub fn files_api() -> (Router<AppState>, OpenApi) {
    mount(std::iter::once(&*FILES))
}

fn mount(apis: impl Iterator<Item = &'static Api>) -> (Router<AppState>, OpenApi) {
    let mut router = Router::new();
    let mut doc = OpenApi::default();
    let mut schemas = Vec::new();
    let mut tags = Vec::new();
    for api in apis {
        tags.extend(api.tags.iter().map(|t| {
            utoipa::openapi::tag::TagBuilder::new()
                .name(t.name)
                .description(Some(t.description))
                .build()
        }));
        for route in &api.routes {
            let route: &'static dyn Declaration = &**route;
            let meta = route.meta();
            router = router.route(meta.path, method_router(route));
            doc.paths.add_path_operation(
                meta.path,
                vec![http_method(meta.method)],
                route.operation(&mut schemas),
            );
        }
    }
    doc.tags = Some(tags);
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.extend(schemas);
    (router, doc)
}

fn method_router(route: &'static dyn Declaration) -> MethodRouter<AppState> {
    let meta = route.meta();
    let filter = match meta.method {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Put => MethodFilter::PUT,
        Method::Patch => MethodFilter::PATCH,
        Method::Delete => MethodFilter::DELETE,
    };
    match meta.call {
        Call::Service { .. } => on(
            filter,
            move |State(state): State<AppState>, request: Request| forward(route, state, request),
        ),
        Call::Gateway => crate::routes::handler(meta.operation_id, filter).unwrap_or_else(|| {
            panic!(
                "{} {} ({}) is declared for a gateway handler, and none has that name",
                meta.method.as_str(),
                meta.path,
                meta.operation_id
            )
        }),
    }
}

fn http_method(method: Method) -> HttpMethod {
    match method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Patch => HttpMethod::Patch,
        Method::Delete => HttpMethod::Delete,
    }
}

/// Every GET answers HEAD (RFC 9110): the document says so with the same operation, its
/// answers without bodies.
pub fn add_head_operations(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let Some(get) = &item.get else { continue };
        let mut head = get.clone();
        head.operation_id = get.operation_id.as_ref().map(|id| format!("{id}_head"));
        for response in head.responses.responses.values_mut() {
            if let RefOr::T(response) = response {
                response.content.clear();
            }
        }
        item.head = Some(head);
    }
}

/// The handler of every route that forwards to a service.
async fn forward(route: &'static dyn Declaration, state: AppState, request: Request) -> Response {
    match answer(route, &state, request).await {
        Ok(response) => response,
        Err(response) => response,
    }
}

async fn answer(
    route: &'static dyn Declaration,
    state: &AppState,
    request: Request,
) -> Result<Response, Response> {
    let meta = route.meta();
    let (mut parts, body) = request.into_parts();
    let signed = parts.extensions.get::<Signed>().cloned();
    let rid = RequestId::from_request_parts(&mut parts, state)
        .await
        .unwrap_or_else(|never| match never {});
    let ClientAddr(addr) = ClientAddr::from_request_parts(&mut parts, state)
        .await
        .unwrap_or_else(|never| match never {});
    let min = if meta.reads_after {
        MinPosition::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?
    } else {
        MinPosition(None)
    };
    let path = if route.ids().is_empty() {
        Vec::new()
    } else {
        Path::<Vec<(String, String)>>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?
            .0
    };
    let query = parts.uri.query().unwrap_or("").to_owned();
    // Read before the path and query are checked, but refused after them, as extractors
    // in that order would.
    let bytes = if route.takes_body() {
        Some(json_bytes(&parts, body).await)
    } else {
        None
    };
    let decoded = route
        .decode(Input {
            path: &path,
            query: &query,
            body: bytes.as_ref().map(|b| b.as_deref().map_err(Clone::clone)),
        })
        .map_err(|p| ApiError(p).into_response())?;
    let Call::Service { service, endpoint } = meta.call else {
        return Err(ApiError(Problem::internal()).into_response());
    };
    let ctx = match &signed {
        Some(signed) => signed.context_after(&rid, min),
        None => crate::auth::context("anonymous", &rid, min),
    }
    .from_address(addr);
    // The ids in the body, held to the caller's municipality before the service acts.
    if let (Some(Signed::Member(caller)), Some(Ok(body))) = (&signed, &bytes)
        && !route.body_ids().is_empty()
    {
        crate::scope::hold_to_caller(state, &ctx, caller, route.body_ids(), body)
            .await
            .map_err(|p| ApiError(p).into_response())?;
    }
    let status = meta
        .answers
        .first()
        .and_then(|a| StatusCode::from_u16(a.status).ok())
        .unwrap_or(StatusCode::OK);
    match state
        .bus
        .call(service, endpoint, &ctx, &decoded.request)
        .await
    {
        Reply::Ok { value, .. } if decoded.rendered => rendered(status, value),
        Reply::Ok { value, position } => {
            let location = meta.location.and_then(|l| l(&value));
            let mut response = crate::routes::written(status, value, position);
            if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            Ok(response)
        }
        Reply::Problem(p) => Err(ApiError(p).into_response()),
    }
}

/// A service's answer in its own format (CSV, NDJSON, FHIR, HTML), sent as it says.
fn rendered(status: StatusCode, value: serde_json::Value) -> Result<Response, Response> {
    let out: Rendered =
        serde_json::from_value(value).map_err(|_| ApiError(Problem::internal()).into_response())?;
    let mut response = (status, out.body).into_response();
    if let Ok(v) = HeaderValue::from_str(&out.media_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Some(next) = out.next_after {
        response
            .headers_mut()
            .insert(doors::NEXT_AFTER_HEADER, HeaderValue::from(next));
    }
    Ok(response)
}
