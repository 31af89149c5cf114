//! Joining, signing in and leaving: invitations, activation with a second factor,
//! sessions with rotating refresh tokens, the caller's own record, role changes,
//! deactivation, and the keys that verify access tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use identity_api::SERVICE;
use identity_api::members::endpoints as ep;
use identity_api::members::*;
use problem::Problem;
use serde::Deserialize;
use tokens::Jwks;
use utoipa::IntoParams;

use super::{context, forward};
use crate::auth::{Member, Signed};
use crate::error::ApiError;
use crate::extract::{Body, ClientAddr, MinPosition, Params, RequestId};
use crate::state::AppState;
use crate::web::refresh_cookie;
use identity_api::municipalities::Page;

/// A member in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The member's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub member_id: String,
}

fn anonymous(rid: &RequestId) -> bus::CallContext {
    context("anonymous", rid, MinPosition(None))
}

/// Invite a member: the answer holds the one-time activation token to hand over.
#[utoipa::path(post, path = "/invitations", tag = "members", security(("bearer" = [])),
    request_body = InviteMember,
    responses((status = 201, description = "invited", body = Invitation),
              (status = 403, description = "you may not invite to these sites or roles", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "a concurrent change", body = Problem, content_type = "application/problem+json")))]
pub async fn invite(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Body(body): Body<InviteMember>,
) -> Result<Response, ApiError> {
    forward(
        &state,
        SERVICE,
        ep::INVITE_MEMBER,
        &signed.context(&rid),
        &body,
        StatusCode::CREATED,
    )
    .await
}

/// Activate an account with its token: choose a username and password; the answer holds
/// the second-factor secret to enrol.
#[utoipa::path(post, path = "/activation", tag = "members",
    request_body = ActivateAccount,
    responses((status = 200, description = "activated; enrol the second factor next", body = SecondFactorEnrolment),
              (status = 409, description = "username taken, or not waiting for activation", body = Problem, content_type = "application/problem+json")))]
pub async fn activate(
    State(state): State<AppState>,
    rid: RequestId,
    Body(body): Body<ActivateAccount>,
) -> Result<Response, ApiError> {
    forward(
        &state,
        SERVICE,
        ep::ACTIVATE_ACCOUNT,
        &anonymous(&rid),
        &body,
        StatusCode::OK,
    )
    .await
}

/// Confirm the second factor with a first code; the account can then sign in.
#[utoipa::path(post, path = "/activation/second-factor", tag = "members",
    request_body = ConfirmSecondFactor,
    responses((status = 200, description = "enrolled", body = serde_json::Value)))]
pub async fn confirm_second_factor(
    State(state): State<AppState>,
    rid: RequestId,
    Body(body): Body<ConfirmSecondFactor>,
) -> Result<Response, ApiError> {
    forward(
        &state,
        SERVICE,
        ep::CONFIRM_SECOND_FACTOR,
        &anonymous(&rid),
        &body,
        StatusCode::OK,
    )
    .await
}

/// Sign in with username, password and the current code of the second factor.
#[utoipa::path(post, path = "/sessions", tag = "members",
    params(RefreshCookieHeader),
    request_body = SignIn,
    responses((status = 201, description = "signed in (with `Tsunagu-Refresh-Cookie: true`, the refresh token is set as a cookie instead of answered)", body = TokenPair),
              (status = 403, description = "the refresh cookie was asked for from another site", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "the username, password or code is wrong", body = Problem, content_type = "application/problem+json"),
              (status = 429, description = "locked out after repeated failures", body = Problem, content_type = "application/problem+json")))]
pub async fn sign_in(
    State(state): State<AppState>,
    rid: RequestId,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Body(body): Body<SignIn>,
) -> Result<Response, ApiError> {
    let carrier = refresh_cookie::carrier(&headers)?;
    if let Some(seconds) = addr.and_then(|a| state.failed_sign_ins.retry_after(a)) {
        let p = Problem::new(
            429,
            "too-many-failures",
            "Too many failed sign-ins from this address",
        )
        .with_detail(format!("try again in {seconds} seconds"));
        return Ok(with_retry_after(p, seconds));
    }
    let response = forward(
        &state,
        SERVICE,
        ep::SIGN_IN,
        &anonymous(&rid),
        &body,
        StatusCode::CREATED,
    )
    .await;
    match response {
        Err(ApiError(p)) if p.status == 429 => {
            let seconds = p
                .detail
                .as_deref()
                .and_then(|d| d.split_whitespace().find_map(|w| w.parse::<u64>().ok()))
                .unwrap_or(60);
            Ok(with_retry_after(p, seconds))
        }
        Err(ApiError(p)) => {
            if p.status == 401
                && let Some(a) = addr
            {
                state.failed_sign_ins.failed(a);
            }
            Err(ApiError(p))
        }
        ok => refresh_cookie::carry(ok, carrier).await,
    }
}

fn with_retry_after(p: Problem, seconds: u64) -> Response {
    let mut r = crate::error::problem_response(p);
    if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

/// Exchange the latest refresh token for a new pair. Using an old one ends the session.
/// With `Tsunagu-Refresh-Cookie: true` the token is read from the refresh cookie (the body
/// may then be `{}`) and the new one set in it.
#[utoipa::path(post, path = "/sessions/refresh", tag = "members",
    params(RefreshCookieHeader),
    request_body = RefreshSession,
    responses((status = 200, description = "a new pair", body = TokenPair),
              (status = 401, description = "invalid, or reused (the session has ended)", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "the refresh cookie was used from another site", body = Problem, content_type = "application/problem+json")))]
pub async fn refresh(
    State(state): State<AppState>,
    rid: RequestId,
    headers: HeaderMap,
    Body(mut body): Body<RefreshSession>,
) -> Result<Response, ApiError> {
    let carrier = refresh_cookie::carrier(&headers)?;
    if carrier == refresh_cookie::Carrier::Body {
        if body.refresh_token.is_empty() {
            return Err(Problem::invalid_field(
                "/refresh_token",
                "give the refresh token (a browser signed in with the refresh cookie sends Tsunagu-Refresh-Cookie: true instead)",
            )
            .into());
        }
    } else {
        body.refresh_token = refresh_cookie::token_from(&headers).unwrap_or_default();
    }
    let answer = forward(
        &state,
        SERVICE,
        ep::REFRESH_SESSION,
        &anonymous(&rid),
        &body,
        StatusCode::OK,
    )
    .await;
    refresh_cookie::carry(answer, carrier).await
}

/// Header: a browser asks for its refresh token in an `HttpOnly` cookie rather than in
/// the JSON (see `web::refresh_cookie`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct RefreshCookieHeader {
    /// `true`: the refresh token travels in the `tsunagu_refresh` cookie (`HttpOnly`,
    /// `SameSite=Strict`, `Path=/api/v1/sessions/refresh`), never in the JSON; the
    /// request's `Origin` must be this host.
    #[serde(rename = "Tsunagu-Refresh-Cookie")]
    #[param(rename = "Tsunagu-Refresh-Cookie", nullable = false)]
    pub cookie: Option<bool>,
}

/// Sign out: the session ends, its tokens stop working within seconds.
/// A browser's refresh cookie is deleted too.
#[utoipa::path(delete, path = "/sessions/current", tag = "members", security(("bearer" = [])),
    responses((status = 200, description = "signed out", body = serde_json::Value)))]
pub async fn sign_out(
    State(state): State<AppState>,
    Member(caller): Member,
    rid: RequestId,
) -> Result<Response, ApiError> {
    let ctx = Signed::Member(caller).context(&rid);
    let answer = forward(
        &state,
        SERVICE,
        ep::SIGN_OUT,
        &ctx,
        &serde_json::json!({}),
        StatusCode::OK,
    )
    .await?;
    Ok(refresh_cookie::with_cookie(
        answer,
        refresh_cookie::cleared(),
    ))
}

/// How many sessions signing out everywhere ended.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    /// Sessions ended (this one included).
    pub sessions_ended: u64,
}

/// Sign out everywhere: every session of yours ends, on every device, and its tokens stop
/// working within seconds. A browser's refresh cookie is deleted too.
#[utoipa::path(delete, path = "/me/sessions", tag = "members", security(("bearer" = [])),
    responses((status = 200, description = "signed out everywhere", body = SessionsEnded)))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    Member(caller): Member,
    rid: RequestId,
) -> Result<Response, ApiError> {
    let ctx = Signed::Member(caller).context(&rid);
    let answer = forward(
        &state,
        SERVICE,
        ep::SIGN_OUT_EVERYWHERE,
        &ctx,
        &serde_json::json!({}),
        StatusCode::OK,
    )
    .await?;
    Ok(refresh_cookie::with_cookie(
        answer,
        refresh_cookie::cleared(),
    ))
}

/// The signed-in member's own record.
#[utoipa::path(get, path = "/me", tag = "members", security(("bearer" = [])),
    responses((status = 200, description = "you", body = MemberView)))]
pub async fn me(
    State(state): State<AppState>,
    Member(caller): Member,
    rid: RequestId,
) -> Result<Response, ApiError> {
    let ctx = Signed::Member(caller).context(&rid);
    forward(
        &state,
        SERVICE,
        ep::GET_MEMBER,
        &ctx,
        &GetMember { member_id: None },
        StatusCode::OK,
    )
    .await
}

/// The municipality in the path of its member list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MunicipalityMembersPath {
    /// Local government code (6 digits, the last a check digit).
    #[param(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub code: String,
}

/// Paging of the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberListParams {
    /// Key of the last item of the previous page (a member id).
    #[param(
        pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        nullable = false
    )]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// The members of a municipality, a page at a time, for its secretariat (and the operator).
/// Another municipality's list is refused.
#[utoipa::path(get, path = "/municipalities/{code}/members", tag = "members", security(("bearer" = [])),
    params(MunicipalityMembersPath, MemberListParams),
    responses((status = 200, description = "a page", body = Page<MemberView>),
              (status = 403, description = "not your municipality", body = Problem, content_type = "application/problem+json")))]
pub async fn list_members_of_municipality(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    Path(MunicipalityMembersPath { code }): Path<MunicipalityMembersPath>,
    Params(p): Params<MemberListParams>,
) -> Result<Response, ApiError> {
    let q = ListMembers {
        municipality: code,
        after: p.after,
        limit: p.limit,
    };
    forward(
        &state,
        SERVICE,
        ep::LIST_MEMBERS,
        &signed.context_after(&rid, min),
        &q,
        StatusCode::OK,
    )
    .await
}

/// One member, for those who manage them.
#[utoipa::path(get, path = "/members/{member_id}", tag = "members", security(("bearer" = [])),
    params(MemberPath),
    responses((status = 200, description = "the member", body = MemberView)))]
pub async fn get_member(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(MemberPath { member_id }): Path<MemberPath>,
) -> Result<Response, ApiError> {
    forward(
        &state,
        SERVICE,
        ep::GET_MEMBER,
        &signed.context(&rid),
        &GetMember {
            member_id: Some(member_id),
        },
        StatusCode::OK,
    )
    .await
}

/// Deactivate a member who left: every session ends at once.
#[utoipa::path(post, path = "/members/{member_id}/deactivation", tag = "members", security(("bearer" = [])),
    params(MemberPath),
    request_body = Deactivation,
    responses((status = 200, description = "deactivated", body = serde_json::Value),
              (status = 403, description = "not yours to manage", body = Problem, content_type = "application/problem+json")))]
pub async fn deactivate(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(MemberPath { member_id }): Path<MemberPath>,
    Body(body): Body<Deactivation>,
) -> Result<Response, ApiError> {
    let command = DeactivateMember {
        member_id,
        reason: body.reason,
    };
    forward(
        &state,
        SERVICE,
        ep::DEACTIVATE_MEMBER,
        &signed.context(&rid),
        &command,
        StatusCode::OK,
    )
    .await
}

/// Replace a member's roles (the whole set). Whoever manages the member may, and only with
/// roles they could grant at invitation. The member's access tokens issued until now stop
/// working; a refresh or a new sign-in carries the new roles. Asking for the roles the
/// member already holds changes nothing and answers the same.
#[utoipa::path(put, path = "/members/{member_id}/roles", tag = "members", security(("bearer" = [])),
    params(MemberPath),
    request_body = RoleChange,
    responses((status = 200, description = "the member's roles now", body = MemberRoles),
              (status = 403, description = "not yours to manage, or a role you may not grant (the field names it)", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "the member has left, or a concurrent change", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "no role, an integrator role, or a role needing a site for a member without one (`/roles`); no reason (`/reason`)", body = Problem, content_type = "application/problem+json")))]
pub async fn change_roles(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(MemberPath { member_id }): Path<MemberPath>,
    Body(body): Body<RoleChange>,
) -> Result<Response, ApiError> {
    let command = ChangeRoles {
        member_id,
        roles: body.roles,
        reason: body.reason,
    };
    forward(
        &state,
        SERVICE,
        ep::CHANGE_ROLES,
        &signed.context(&rid),
        &command,
        StatusCode::OK,
    )
    .await
}

/// The public keys that verify access tokens (JWKS). Keys rotate; an old key stays here
/// until its last token has expired.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "members",
    responses((status = 200, description = "the keys", body = serde_json::Value)))]
pub async fn jwks(State(state): State<AppState>) -> Result<Json<Jwks>, ApiError> {
    match state
        .bus
        .call(
            SERVICE,
            ep::JWKS,
            &bus::CallContext::new("gateway"),
            &serde_json::json!({}),
        )
        .await
    {
        bus::Reply::Ok { value, .. } => serde_json::from_value(value)
            .map(Json)
            .map_err(|_| ApiError(Problem::internal())),
        bus::Reply::Problem(p) => Err(ApiError(p)),
    }
}

/// Rotate the signing key: new tokens are signed with a new key; the old key stays in the
/// JWKS until its last token has expired, so nobody is signed out.
#[utoipa::path(post, path = "/signing-keys/rotation", tag = "members", security(("bearer" = [])),
    responses((status = 201, description = "rotated", body = KeyRotated),
              (status = 403, description = "only the operator", body = Problem, content_type = "application/problem+json")))]
pub async fn rotate_signing_key(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
) -> Result<Response, ApiError> {
    forward(
        &state,
        SERVICE,
        ep::ROTATE_SIGNING_KEY,
        &signed.context(&rid),
        &serde_json::json!({}),
        StatusCode::CREATED,
    )
    .await
}

/// Reset a member's password and second factor: their sessions end, and the answer holds
/// a one-time token with which they choose a new password and enrol again.
#[utoipa::path(post, path = "/members/{member_id}/credential-reset", tag = "members", security(("bearer" = [])),
    params(MemberPath),
    request_body = Deactivation,
    responses((status = 201, description = "reset", body = CredentialReset),
              (status = 403, description = "only the secretariat of the member's municipality", body = Problem, content_type = "application/problem+json")))]
pub async fn reset_credentials(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(MemberPath { member_id }): Path<MemberPath>,
    Body(body): Body<Deactivation>,
) -> Result<Response, ApiError> {
    let command = ResetCredentials {
        member_id,
        reason: body.reason,
    };
    forward(
        &state,
        SERVICE,
        ep::RESET_CREDENTIALS,
        &signed.context(&rid),
        &command,
        StatusCode::CREATED,
    )
    .await
}

/// Make an invitation link (URL or QR code) through which people join for broadcasts;
/// the coordination centre verifies each before the membership opens.
#[utoipa::path(post, path = "/join-links", tag = "members", security(("bearer" = [])),
    request_body = CreateJoinLink,
    responses((status = 200, description = "the link", body = JoinLink),
              (status = 403, description = "only the coordination centre of that municipality", body = Problem, content_type = "application/problem+json")))]
pub async fn create_join_link(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Body(body): Body<CreateJoinLink>,
) -> Result<Response, ApiError> {
    forward(
        &state,
        SERVICE,
        ep::CREATE_JOIN_LINK,
        &signed.context(&rid),
        &body,
        StatusCode::OK,
    )
    .await
}

/// Join through a coordination centre's link: choose a username and password; the answer
/// holds the second-factor secret to enrol. Sign-in opens once the centre verifies.
#[utoipa::path(post, path = "/self-registration", tag = "members",
    request_body = SelfRegister,
    responses((status = 200, description = "registered; enrol the second factor next", body = SecondFactorEnrolment),
              (status = 409, description = "username taken", body = Problem, content_type = "application/problem+json")))]
pub async fn self_register(
    State(state): State<AppState>,
    rid: RequestId,
    Body(body): Body<SelfRegister>,
) -> Result<Response, ApiError> {
    forward(
        &state,
        SERVICE,
        ep::SELF_REGISTER,
        &anonymous(&rid),
        &body,
        StatusCode::OK,
    )
    .await
}

/// The coordination centre verifies someone who joined through its link.
#[utoipa::path(post, path = "/members/{member_id}/verification", tag = "members", security(("bearer" = [])),
    params(MemberPath),
    responses((status = 200, description = "verified", body = serde_json::Value),
              (status = 403, description = "only the coordination centre of the member's municipality", body = Problem, content_type = "application/problem+json")))]
pub async fn verify_member(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(MemberPath { member_id }): Path<MemberPath>,
) -> Result<Response, ApiError> {
    forward(
        &state,
        SERVICE,
        ep::VERIFY_MEMBER,
        &signed.context(&rid),
        &VerifyMember { member_id },
        StatusCode::OK,
    )
    .await
}

/// Register a machine client (integrator): the answer holds its secret, shown once.
#[utoipa::path(post, path = "/integrators", tag = "members", security(("bearer" = [])),
    request_body = RegisterIntegrator,
    responses((status = 201, description = "registered", body = IntegratorCredentials),
              (status = 403, description = "only the operator", body = Problem, content_type = "application/problem+json")))]
pub async fn register_integrator(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Body(body): Body<RegisterIntegrator>,
) -> Result<Response, ApiError> {
    forward(
        &state,
        SERVICE,
        ep::REGISTER_INTEGRATOR,
        &signed.context(&rid),
        &body,
        StatusCode::CREATED,
    )
    .await
}

/// OAuth2 token endpoint for machine clients: the client credentials grant (RFC 6749
/// §4.4), form-encoded, client secret in the body.
#[utoipa::path(post, path = "/oauth/token", tag = "members",
    request_body(content = ClientCredentials, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "an access token", body = ClientToken),
              (status = 401, description = "the client id or secret is wrong", body = Problem, content_type = "application/problem+json")))]
pub async fn client_token(
    State(state): State<AppState>,
    rid: RequestId,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let form = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(
            Problem::new(415, "unsupported-media-type", "Unsupported media type")
                .with_detail("send the grant as application/x-www-form-urlencoded")
                .into(),
        );
    }
    let bytes = axum::body::to_bytes(request.into_body(), state.body_limit)
        .await
        .map_err(|_| Problem::payload_too_large(state.body_limit))?;
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(&bytes));
    let grant: ClientCredentials = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = format!("/{}", e.path());
        let detail = e.into_inner().to_string();
        Problem::new(400, "invalid-request", "The token request is invalid")
            .with_field(field, detail)
    })?;
    forward(
        &state,
        SERVICE,
        ep::CLIENT_TOKEN,
        &anonymous(&rid),
        &grant,
        StatusCode::OK,
    )
    .await
}
