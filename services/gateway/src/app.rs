//! The router: routes, the OpenAPI document, and the layers every request passes.

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::routing::get;
use problem::{FieldError, Problem};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, problems_everywhere};
use crate::extract::BodyLimit;
use crate::routes::{health, members, municipalities as m, organisations as o};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "tsunagu", version = "1", description = "One region, many municipalities: the care team's platform. Every error is problem details (RFC 9457)."),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError)),
    tags((name = "municipalities", description = "The register of municipalities, their areas and groups"),
         (name = "organisations", description = "Organisations (法人): the legal entities that run service sites"),
         (name = "sites", description = "Service sites (事業所): the region's directory of providers, filtered by municipality served, service type and kind"),
         (name = "members", description = "Joining, signing in with two factors, sessions and leaving"),
         (name = "health", description = "Liveness and readiness"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every operation may answer with the errors every route shares; say so once here rather
/// than in each route (the gateway's layers produce them, not the handlers).
struct CommonProblems;

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let mut add = |code: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| problem(description));
                };
                add("408", "the request took too long");
                add(
                    "500",
                    "a defect on our side (logged); never caused by the request's content",
                );
                add("503", "a service or dependency is unavailable; try again");
                add("504", "a service did not answer in time");
                if op.security.is_some() {
                    add(
                        "400",
                        "unreadable request: malformed JSON, a bad header or query parameter",
                    );
                    add("401", "no valid credential");
                    add("404", "no such resource");
                    add("405", "method not allowed");
                    add("422", "a field, parameter or header has an invalid value");
                }
                if op.request_body.is_some() {
                    add(
                        "400",
                        "unreadable request: malformed JSON, a bad header or query parameter",
                    );
                    add("422", "a field, parameter or header has an invalid value");
                    add("413", "the body is larger than the limit");
                    add("415", "the body is not application/json");
                }
            }
        }
    }
}

/// The API's routes and their document, both from one list so they cannot drift apart.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(m::register_municipality, m::list_municipalities))
        .routes(routes!(m::get_municipality, m::rename_municipality))
        .routes(routes!(m::add_area))
        .routes(routes!(m::remove_area))
        .routes(routes!(m::form_group, m::list_groups))
        .routes(routes!(m::get_group))
        .routes(routes!(m::join_group))
        .routes(routes!(m::leave_group))
        .routes(routes!(o::register_organisation, o::list_organisations))
        .routes(routes!(o::get_organisation, o::rename_organisation))
        .routes(routes!(o::register_site))
        .routes(routes!(o::list_sites))
        .routes(routes!(o::get_site, o::replace_site_details, o::close_site))
        .routes(routes!(members::invite))
        .routes(routes!(members::activate))
        .routes(routes!(members::confirm_second_factor))
        .routes(routes!(members::sign_in))
        .routes(routes!(members::refresh))
        .routes(routes!(members::sign_out))
        .routes(routes!(members::me))
        .routes(routes!(members::get_member))
        .routes(routes!(members::deactivate))
        .routes(routes!(members::rotate_signing_key))
        .routes(routes!(members::reset_credentials))
        .routes(routes!(members::create_join_link))
        .routes(routes!(members::self_register))
        .routes(routes!(members::verify_member))
        .routes(routes!(members::register_integrator))
        .routes(routes!(members::client_token));
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(members::jwks))
        .nest("/api/v1", v1)
        .split_for_parts();
    // After the routes are in: the modifier must see every operation.
    CommonProblems.modify(&mut doc);
    (router, doc)
}

/// The gateway's whole HTTP surface.
pub fn router(state: AppState, request_timeout: std::time::Duration) -> Router {
    let (api, doc) = api();
    let doc_json = serde_json::to_value(&doc).unwrap_or_default();
    let body_limit = state.body_limit;
    let request_id = HeaderName::from_static("x-request-id");
    // Outermost first: every request gets an id and a span, then every error becomes
    // problem details, then panics, time and size are bounded.
    let outer = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The matched route, never the raw URI: paths and queries may carry personal data.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", |p| p.as_str())
                .to_owned();
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let span =
                tracing::info_span!("http.request", method = %req.method(), route, request_id);
            telemetry::extract_from_http(req.headers(), &span);
            span
        }));
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let inner = ServiceBuilder::new()
        .layer(CatchPanicLayer::new())
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::Extension(BodyLimit(body_limit)));
    api.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc_json.clone();
            async move { axum::Json(doc) }
        }),
    )
    .fallback(|| async { ApiError(Problem::not_found("no such resource")) })
    .with_state(state)
    .layer(inner)
    .layer(axum::middleware::from_fn(problems_everywhere))
    .layer(headers)
    .layer(outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", serde_json::Value::String(r)) => out.push(r.clone()),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_directory_routes_are_documented_and_every_schema_they_name_exists() {
        let (_, doc) = api();
        let doc = serde_json::to_value(&doc).unwrap();
        for (path, method) in [
            ("/api/v1/organisations", "post"),
            ("/api/v1/organisations", "get"),
            ("/api/v1/organisations/{organisation_id}", "get"),
            ("/api/v1/organisations/{organisation_id}", "patch"),
            ("/api/v1/organisations/{organisation_id}/sites", "post"),
            ("/api/v1/sites", "get"),
            ("/api/v1/sites/{site_id}", "get"),
            ("/api/v1/sites/{site_id}", "put"),
            ("/api/v1/sites/{site_id}", "delete"),
        ] {
            let op = &doc["paths"][path][method];
            assert!(op.is_object(), "{method} {path} is documented");
            assert!(op["responses"]["422"].is_object(), "{method} {path}");
        }
        let mut named = Vec::new();
        refs(&doc, &mut named);
        for r in named {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{r} is defined"
            );
        }
    }
}
