//! The checks every request passes before a handler runs: the rate per client address,
//! then, for the matched route, its row in [`crate::access::routes`], authentication, the
//! rate per member, and the permission rules. Every refusal (403) it sends to a caller it
//! knows, whether it decided it or the service did, is recorded on the access stream first.

use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use problem::Problem;

use crate::access::{self, Door};
use crate::auth::{Signed, authenticate};
use crate::error::ApiError;
use crate::extract::{ClientAddr, RequestId};
use crate::state::AppState;

fn too_many(wait: std::time::Duration, detail: &str) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = ApiError(
        Problem::new(429, "too-many-requests", "Too many requests")
            .with_detail(format!("{detail}; try again in {seconds} s")),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Outermost: every request, matched or not, counts against its client address.
pub async fn limit_addresses(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    if let Some(addr) = addr
        && let Err(wait) = state.limits.per_address.take(&addr, Instant::now())
    {
        tracing::warn!(%addr, "rate limit per address reached");
        return too_many(wait, "too many requests from your address");
    }
    next.run(request).await
}

/// On every route: the route's door, then who calls, then whether they may. Every 403
/// answered to a known caller, the guard's own or the service's, is recorded as a
/// `PermissionDenied` before it leaves; patient reads are recorded by their service.
pub async fn guard(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    RequestId(request_id): RequestId,
    request: Request,
    next: Next,
) -> Response {
    let route = format!(
        "{} {}",
        request.method(),
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str)
            .unwrap_or_default()
    );
    let (response, caller, door, params, refused_by) = match admit(&state, request).await {
        Ok(admitted) => {
            let Admitted {
                request,
                caller,
                door,
                params,
            } = admitted;
            (next.run(request).await, caller, door, params, "service")
        }
        Err(turned) => (
            turned.response,
            turned.caller,
            turned.door,
            turned.params,
            "gateway",
        ),
    };
    match caller {
        Some(caller)
            if response.status() == StatusCode::FORBIDDEN
                && !matches!(door, Some(Door::PatientRead)) =>
        {
            let refusal = Refusal {
                caller: &caller,
                route,
                params,
                addr,
                request_id: &request_id,
                refused_by,
            };
            record_refusal(&state, refusal, response).await
        }
        _ => response,
    }
}

/// What the guard knows of a request it let through.
struct Admitted {
    request: Request,
    caller: Option<Signed>,
    door: Option<Door>,
    params: Vec<(String, String)>,
}

/// A request the guard answered itself, with what it had learnt of the caller by then.
struct Turned {
    response: Response,
    caller: Option<Signed>,
    door: Option<Door>,
    params: Vec<(String, String)>,
}

impl Turned {
    fn anonymous(response: Response) -> Self {
        Self {
            response,
            caller: None,
            door: None,
            params: Vec::new(),
        }
    }
}

struct Refusal<'a> {
    caller: &'a Signed,
    route: String,
    params: Vec<(String, String)>,
    addr: Option<std::net::IpAddr>,
    request_id: &'a str,
    /// `gateway` when the guard refused, `service` when the handler answered 403.
    refused_by: &'static str,
}

/// The largest refusal body read for its reason; problem details are far smaller.
const REFUSAL_BODY_LIMIT: usize = 16 * 1024;

/// Records one refusal and answers it unchanged. A refusal that cannot be recorded is still
/// a refusal: the caller gets the 403, the operator an error in the log.
async fn record_refusal(state: &AppState, refusal: Refusal<'_>, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, REFUSAL_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let reason = problem
        .get("detail")
        .or_else(|| problem.get("title"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("forbidden")
        .to_owned();
    let accessor = match refusal.caller {
        Signed::Operator => access_log::Accessor::operator(),
        Signed::Member(caller) => access_log::Accessor::of(caller),
    };
    let mut patient_id = None;
    let mut target = std::collections::BTreeMap::new();
    for (name, value) in refusal.params {
        if name == "patient_id" {
            patient_id = Some(value);
        } else {
            target.insert(name, value);
        }
    }
    let denied = access_log::PermissionDenied {
        accessor,
        route: refusal.route,
        target,
        patient_id,
        reason,
        refused_by: refusal.refused_by.to_owned(),
        client_address: refusal.addr.map(|a| a.to_string()),
        at: state.clock.now(),
    };
    let correlation = refusal
        .request_id
        .parse()
        .unwrap_or_else(|_| uuid::Uuid::now_v7());
    if let Err(error) = state.refusals.record_refusal(&denied, correlation).await {
        tracing::error!(%error, member = %denied.accessor.member_id, route = %denied.route, "a refusal could not be recorded");
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

async fn admit(state: &AppState, request: Request) -> Result<Admitted, Turned> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let Some(row) = access::find(&parts.method, &path) else {
        if access::routes().iter().any(|r| r.path == path) {
            // A known path asked with a method it has no row for: answer as the router
            // would (405), without letting the request reach any handler.
            return Err(Turned::anonymous(
                StatusCode::METHOD_NOT_ALLOWED.into_response(),
            ));
        }
        // A route without a row is a defect (a test catches it); closed, not open.
        tracing::error!(method = %parts.method, route = %path, "route has no access rule");
        return Err(Turned::anonymous(
            ApiError(Problem::forbidden("this route has no access rule")).into_response(),
        ));
    };
    let door = Some(row.door);
    let actions = match row.door {
        Door::Open => {
            return Ok(Admitted {
                request: Request::from_parts(parts, body),
                caller: None,
                door,
                params: Vec::new(),
            });
        }
        Door::Signed(actions) => actions,
        Door::OwnAccount => &[permissions::Action::ManageOwnAccount][..],
        // The service decides and records; nothing to ask the rules here.
        Door::PatientRead => &[][..],
    };
    let signed = authenticate(&parts.headers, state)
        .await
        .map_err(|e| Turned::anonymous(e.into_response()))?;
    let params: Vec<(String, String)> = RawPathParams::from_request_parts(&mut parts, state)
        .await
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let turned = |response: Response| Turned {
        response,
        caller: Some(signed.clone()),
        door,
        params: params.clone(),
    };
    // As for query parameters (see `doors::query`): no id in a path holds a control character.
    if let Some((name, _)) = params.iter().find(|(_, raw)| {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .chars()
            .any(char::is_control)
    }) {
        return Err(turned(
            ApiError(Problem::invalid_field(
                format!("/{name}"),
                "must not contain control characters",
            ))
            .into_response(),
        ));
    }
    match &signed {
        Signed::Operator => {
            if matches!(row.door, Door::OwnAccount) {
                return Err(turned(
                    ApiError(Problem::forbidden("this route is for signed-in members"))
                        .into_response(),
                ));
            }
        }
        Signed::Member(caller) => {
            if let Err(wait) = state
                .limits
                .per_member
                .take(&caller.member_id, Instant::now())
            {
                tracing::warn!(member = %caller.member_id, "rate limit per member reached");
                return Err(Turned::anonymous(too_many(
                    wait,
                    "too many requests from your account",
                )));
            }
            let ties = match row.door {
                // One's own account: the tie holds by construction.
                Door::OwnAccount => vec![permissions::Relationship::Self_],
                _ => access::ties(row.ids, caller, |name| {
                    params
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                }),
            };
            let allowed = matches!(row.door, Door::PatientRead)
                || actions.iter().any(|&action| {
                    permissions::decide(&caller.subject, action, &ties).is_allowed()
                });
            if !allowed {
                tracing::info!(member = %caller.member_id, route = %path, "refused by the permission rules");
                return Err(turned(
                    ApiError(Problem::forbidden("your roles do not allow this")).into_response(),
                ));
            }
        }
    }
    parts.extensions.insert(signed.clone());
    Ok(Admitted {
        request: Request::from_parts(parts, body),
        caller: Some(signed),
        door,
        params,
    })
}
