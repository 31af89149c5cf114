//! The router: routes, the OpenAPI document, and the layers every request passes.

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use problem::{FieldError, Problem};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::problems_everywhere;
use crate::extract::BodyLimit;
use crate::guard;
use crate::routes::document;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "tsunagu", version = "1", description = "One region, many municipalities: the care team's platform. Every error is problem details (RFC 9457)."),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError))
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
            for (read, op) in [
                (true, &mut item.get),
                (false, &mut item.post),
                (false, &mut item.put),
                (false, &mut item.patch),
                (false, &mut item.delete),
            ] {
                let Some(op) = op else { continue };
                let mut add = |code: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| problem(description));
                };
                add("408", "the request took too long");
                add(
                    "429",
                    "too many requests from your address or account; see Retry-After",
                );
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
                    add(
                        "403",
                        "your roles or your tie to the object do not allow this",
                    );
                    add("404", "no such resource");
                    add("405", "method not allowed");
                    add("422", "a field, parameter or header has an invalid value");
                }
                if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                    add("422", "a field, parameter or header has an invalid value");
                }
                if !read {
                    add(
                        "409",
                        "a concurrent change, or the object is not in a state that allows this",
                    );
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

/// No path or query parameter may hold a control character (the guard and the query
/// extractor refuse them with 422): say so in every free-text parameter's schema, so that
/// clients and generated tests know it. Parameters with a pattern, format or list of
/// values already say more.
struct PlainTextParameters;

/// Any text without C0 or C1 control characters.
pub const PLAIN_TEXT: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

impl Modify for PlainTextParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Schema};
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            let own = operations
                .into_iter()
                .flatten()
                .flat_map(|op| op.parameters.iter_mut().flatten());
            for parameter in own {
                let RefOr::T(parameter) = parameter else {
                    continue;
                };
                let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema else {
                    continue;
                };
                bound_free_text(schema, PLAIN_TEXT);
            }
        }
    }
}

/// Likewise for JSON fields: no string in a request body may hold a control character
/// other than tab and line breaks (`extract::Body` refuses it with 422). Said in every
/// free-text string of the schemas request bodies use; answers are left as they are (the
/// audit log keeps what it was given before this rule, and problem details may quote bad
/// input back).
struct PlainTextFields;

/// Any text without C0 or C1 control characters but tab, line feed and carriage return.
pub const PLAIN_TEXT_LINES: &str =
    "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$";

impl Modify for PlainTextFields {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        let mut pending: Vec<String> = Vec::new();
        for item in openapi.paths.paths.values() {
            let operations = [&item.post, &item.put, &item.patch, &item.delete];
            let bodies = operations
                .into_iter()
                .flatten()
                .filter_map(|op| match &op.request_body {
                    Some(RefOr::T(body)) => Some(body),
                    _ => None,
                });
            for body in bodies {
                for content in body.content.values() {
                    if let RefOr::T(content) = content
                        && let Some(RefOr::Ref(r)) = &content.schema
                    {
                        pending.push(r.ref_location.clone());
                    }
                }
            }
        }
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let mut done = std::collections::BTreeSet::new();
        while let Some(location) = pending.pop() {
            let name = location.rsplit('/').next().unwrap_or_default().to_owned();
            if !done.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = components.schemas.get_mut(&name) {
                plain_text_strings(schema, &mut pending);
            }
        }
    }
}

/// Gives a free-text string (one with no pattern, format or list of values, which say more
/// already) the `pattern`.
fn bound_free_text(schema: &mut utoipa::openapi::schema::Object, pattern: &str) {
    use utoipa::openapi::schema::{SchemaType, Type};
    let text = match &schema.schema_type {
        SchemaType::Type(t) => *t == Type::String,
        SchemaType::Array(types) => types.contains(&Type::String),
        SchemaType::AnyValue => false,
    };
    if text && schema.pattern.is_none() && schema.format.is_none() && schema.enum_values.is_none() {
        schema.pattern = Some(pattern.to_owned());
    }
}

/// Gives every free-text string under `schema` the plain-text pattern, and notes the
/// schemas it refers to.
fn plain_text_strings(
    schema: &mut utoipa::openapi::RefOr<utoipa::openapi::Schema>,
    refs: &mut Vec<String>,
) {
    use utoipa::openapi::schema::ArrayItems;
    use utoipa::openapi::{RefOr, Schema};
    let schema = match schema {
        RefOr::Ref(r) => {
            refs.push(r.ref_location.clone());
            return;
        }
        RefOr::T(schema) => schema,
    };
    let mut each =
        |items: &mut Vec<RefOr<Schema>>| items.iter_mut().for_each(|s| plain_text_strings(s, refs));
    match schema {
        Schema::Object(object) => {
            bound_free_text(object, PLAIN_TEXT_LINES);
            for property in object.properties.values_mut() {
                plain_text_strings(property, refs);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                plain_text_strings(items, refs);
            }
        }
        Schema::OneOf(one) => each(&mut one.items),
        Schema::AllOf(all) => each(&mut all.items),
        Schema::AnyOf(any) => each(&mut any.items),
        _ => {}
    }
}

/// The API's routes and their document, both from the same declarations (see
/// [`crate::mount`]) so they cannot drift apart.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut doc = ApiDoc::openapi();
    let (router, declared) = crate::mount::api();
    doc.merge(declared);
    doc.merge(files_api().1);
    // After the routes are in: the modifiers must see every operation.
    CommonProblems.modify(&mut doc);
    PlainTextParameters.modify(&mut doc);
    PlainTextFields.modify(&mut doc);
    crate::mount::add_head_operations(&mut doc);
    (router, doc)
}

/// The file routes and their document (part of [`api`]'s). Their router stays apart so
/// [`router`] can spare them the JSON body limit and the request timeout: uploads stream
/// to the blob store, which enforces the upload limit itself.
pub fn files_api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    crate::mount::files_api()
}

/// How the HTTP surface behaves, from the settings.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// The whole request, bus included.
    pub request_timeout: std::time::Duration,
    /// A whole upload (or the start of a download) on the file routes.
    pub upload_timeout: std::time::Duration,
    /// Exact origins of the web application allowed by CORS (none: no cross-origin use).
    pub cors_origins: Vec<String>,
    /// The built web application served at `/` (none: `/` answers 404).
    pub web_dir: Option<std::path::PathBuf>,
}

fn cors(origins: &[String]) -> CorsLayer {
    use axum::http::Method;
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    // Bearer tokens, never cookies: no credentials mode, so no ambient authority.
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(crate::extract::MIN_POSITION_HEADER),
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("traceparent"),
        ])
        .expose_headers([
            HeaderName::from_static(crate::extract::POSITION_HEADER),
            HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            header::LOCATION,
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// The gateway's whole HTTP surface.
pub fn router(state: AppState, options: HttpOptions) -> Router {
    let request_timeout = options.request_timeout;
    let (api, doc) = api();
    let doc_json = document::Document(serde_json::to_vec(&doc).unwrap_or_default().into());
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
        // The web application's pages set their own (stricter for scripts, open to its
        // own files); every other answer gets this one, which allows nothing.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    // The file routes: the same guard, but no body limit (the blob store stops at the
    // upload limit as the body streams in) and a timeout long enough for a large file.
    let files = files_api()
        .0
        .route_layer(from_fn_with_state(state.clone(), guard::guard))
        .with_state(state.clone())
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    options.upload_timeout,
                ))
                .layer(DefaultBodyLimit::disable()),
        );
    let inner = ServiceBuilder::new()
        .layer(CatchPanicLayer::new())
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::Extension(BodyLimit(body_limit)))
        .layer(axum::Extension(doc_json))
        .layer(axum::Extension(crate::web::AppFiles::at(options.web_dir)));
    // The guard runs on matched routes only (it reads the matched path); the rate per
    // address runs on everything, matched or not.
    api.route_layer(from_fn_with_state(state.clone(), guard::guard))
        .fallback(crate::web::serve_app)
        .with_state(state.clone())
        .layer(inner)
        .merge(files)
        .layer(from_fn_with_state(state, guard::limit_addresses))
        .layer(axum::middleware::from_fn(problems_everywhere))
        .layer(cors(&options.cors_origins))
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

    fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    out.push((method.to_uppercase(), path.clone(), op.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn every_documented_route_has_a_row_in_the_access_table_and_every_row_a_route() {
        let (_, doc) = api();
        let doc = serde_json::to_value(&doc).unwrap();
        let documented = operations(&doc);
        for (method, path, _) in &documented {
            let method = axum::http::Method::from_bytes(method.as_bytes()).unwrap();
            assert!(
                crate::access::find(&method, path).is_some(),
                "{method} {path} has no row in access::ROUTES"
            );
        }
        for row in crate::access::routes() {
            assert!(
                documented
                    .iter()
                    .any(|(m, p, _)| *m == row.method.as_str() && p == row.path),
                "{} {} is in access::ROUTES but not a documented route",
                row.method,
                row.path
            );
        }
    }

    #[test]
    fn a_route_needs_a_token_exactly_when_the_document_says_so_and_lists_what_refusals_it_gives() {
        let (_, doc) = api();
        let doc = serde_json::to_value(&doc).unwrap();
        for (method, path, op) in operations(&doc) {
            let row = crate::access::find(
                &axum::http::Method::from_bytes(method.as_bytes()).unwrap(),
                &path,
            )
            .unwrap_or_else(|| panic!("{method} {path} has no row"));
            let open = matches!(row.door, crate::access::Door::Open);
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(secured, !open, "{method} {path}: security in the document");
            assert!(
                op["operationId"].is_string(),
                "{method} {path}: operationId"
            );
            assert!(
                op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.starts_with('2')),
                "{method} {path}: a success answer"
            );
            let mut wanted = vec!["429", "500"];
            if secured {
                wanted.extend(["401", "403"]);
            }
            if op["requestBody"].is_object() {
                wanted.extend(["400", "413", "415", "422"]);
            }
            if op["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
                wanted.push("422");
            }
            for code in wanted {
                assert!(
                    op["responses"][code].is_object(),
                    "{method} {path}: answer {code} is documented"
                );
            }
        }
    }

    #[test]
    fn every_json_body_refuses_fields_it_does_not_know() {
        let (_, doc) = api();
        let doc = serde_json::to_value(&doc).unwrap();
        for (method, path, op) in operations(&doc) {
            let Some(schema) =
                op["requestBody"]["content"]["application/json"]["schema"].as_object()
            else {
                continue;
            };
            let schema = match schema.get("$ref").and_then(|r| r.as_str()) {
                Some(r) => doc["components"]["schemas"]
                    [r.trim_start_matches("#/components/schemas/")]
                .clone(),
                None => serde_json::Value::Object(schema.clone()),
            };
            assert_eq!(
                schema["additionalProperties"],
                serde_json::Value::Bool(false),
                "{method} {path}: the body's schema must refuse unknown fields (serde deny_unknown_fields)"
            );
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

#[cfg(test)]
mod every_pattern {
    use std::ops::Not;

    /// Every pattern the document holds (parameters and fields) reads as a regex, so the
    /// gateway can check it and a client can trust it.
    #[test]
    fn every_documented_pattern_reads_as_a_regex() {
        fn patterns<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
            match value {
                serde_json::Value::Object(fields) => {
                    for (key, item) in fields {
                        match (key.as_str(), item) {
                            ("pattern", serde_json::Value::String(p)) => found.push(p),
                            _ => patterns(item, found),
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|i| patterns(i, found)),
                _ => {}
            }
        }
        let (_, doc) = crate::app::api();
        let doc = serde_json::to_value(doc).unwrap();
        let mut found = Vec::new();
        patterns(&doc, &mut found);
        for pattern in &found {
            assert!(regex::Regex::new(pattern).is_ok(), "{pattern}");
        }
        assert!(found.len() > 50, "only {} patterns found", found.len());
        let plain = regex::Regex::new(crate::app::PLAIN_TEXT_LINES).unwrap();
        assert!(plain.is_match("二行の\nメモ\t") && !plain.is_match("a\u{0}b"));
    }

    /// Request bodies say they hold no control characters; answers say nothing of it.
    #[test]
    fn request_bodies_and_only_they_carry_the_plain_text_pattern() {
        let (_, doc) = crate::app::api();
        let doc = serde_json::to_value(doc).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["RoleChange"]["properties"]["reason"]["pattern"],
            crate::app::PLAIN_TEXT_LINES
        );
        assert!(schemas["AuditRecord"]["properties"]["route"]["pattern"].is_null());
        assert!(schemas["Problem"].to_string().contains("pattern").not());
    }

    fn pattern(doc: &serde_json::Value, path: &str, name: &str) -> regex::Regex {
        let parameters = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let parameter = parameters.iter().find(|p| p["name"] == name).unwrap();
        regex::Regex::new(parameter["schema"]["pattern"].as_str().unwrap()).unwrap()
    }

    /// The lists the document spells out name exactly the kinds and categories there are.
    #[test]
    fn the_kinds_and_categories_a_query_may_name_are_the_real_ones() {
        let (_, doc) = crate::app::api();
        let doc = serde_json::to_value(doc).unwrap();
        let kinds = pattern(&doc, "/api/v1/audit/records", "kind");
        for kind in audit_api::RecordKind::ALL {
            assert!(kinds.is_match(kind.as_str()), "{}", kind.as_str());
        }
        assert!(kinds.is_match("sign_in_failed,permission_denied"));
        assert!(!kinds.is_match("_") && !kinds.is_match("sign_in,") && !kinds.is_match("gossip"));
        let categories = pattern(&doc, "/api/v1/patients/{patient_id}/record", "categories");
        for category in consent::DataCategory::ALL {
            assert!(
                categories.is_match(category.as_str()),
                "{}",
                category.as_str()
            );
        }
        assert!(categories.is_match("care_records,documents"));
        assert!(!categories.is_match("care_records,") && !categories.is_match("diary"));
    }
}
