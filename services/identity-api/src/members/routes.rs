//! The routes of joining, signing in and leaving: invitations, activation with a second
//! factor, sessions, the caller's own record, role changes, deactivation, and the keys that
//! verify access tokens.

use doors::{BodyId, Content, Declared, Door, Object, PathId, PathIds, Route};
use permissions::Action;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::endpoints as ep;
use super::*;
use crate::SERVICE;
use crate::municipalities::routes::CodePath;

const TAG: &str = "members";
const MANAGE_MEMBERS: Door =
    Door::Signed(&[Action::ManageMembersOfMunicipality, Action::ManageOwnStaff]);

/// A member in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The member's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub member_id: String,
}

impl PathIds for MemberPath {
    const IDS: &'static [PathId] = &[PathId::new("member_id", Object::Member)];
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

/// Header: a browser asks for its refresh token in an `HttpOnly` cookie rather than in the
/// JSON (the gateway's `web::refresh_cookie`).
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

/// The answer's cookie, for those that set or delete it.
const SET_COOKIE: &[(&str, &str)] = &[(
    "Set-Cookie",
    "the browser's refresh cookie (`tsunagu_refresh`): set when asked for, deleted on sign-out",
)];

/// How many sessions signing out everywhere ended.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    /// Sessions ended (this one included).
    pub sessions_ended: u64,
}

pub fn routes() -> Vec<Declared> {
    vec![
        Route::post("invite", "/api/v1/invitations")
            .tag(TAG)
            .summary("Invite a member: the answer holds the one-time activation token to hand over.")
            .door(MANAGE_MEMBERS)
            .body::<InviteMember>()
            .body_ids(const { &[BodyId::own("/sites/*", Object::Site), BodyId::own("/municipality", Object::Municipality)] })
            .service(SERVICE, ep::INVITE_MEMBER, |_, _, body| Ok(body))
            .answers::<Invitation>(201, "invited")
            .problems(&[
                (403, "you may not invite to these sites or roles"),
                (409, "a concurrent change"),
            ])
            .into(),
        Route::post("activate", "/api/v1/activation")
            .tag(TAG)
            .summary("Activate an account with its token: choose a username and password; the answer holds the second-factor secret to enrol.")
            .body::<ActivateAccount>()
            .service(SERVICE, ep::ACTIVATE_ACCOUNT, |_, _, body| Ok(body))
            .answers::<SecondFactorEnrolment>(200, "activated; enrol the second factor next")
            .problems(&[(409, "username taken, or not waiting for activation")])
            .into(),
        Route::post("confirm_second_factor", "/api/v1/activation/second-factor")
            .tag(TAG)
            .summary("Confirm the second factor with a first code; the account can then sign in.")
            .body::<ConfirmSecondFactor>()
            .service(SERVICE, ep::CONFIRM_SECOND_FACTOR, |_, _, body| Ok(body))
            .answers::<serde_json::Value>(200, "enrolled")
            .into(),
        // Answered by the gateway: failed sign-ins slow the address down.
        Route::post("sign_in", "/api/v1/sessions")
            .tag(TAG)
            .summary("Sign in with username, password and the current code of the second factor.")
            .headers::<RefreshCookieHeader>()
            .body::<SignIn>()
            .answers::<TokenPair>(201, "signed in (with `Tsunagu-Refresh-Cookie: true`, the refresh token is set as a cookie instead of answered)")
            .with_headers(SET_COOKIE)
            .problems(&[
                (401, "the username, password or code is wrong"),
                (403, "the refresh cookie was asked for from another site"),
                (429, "locked out after repeated failures"),
            ])
            .into(),
        // Answered by the gateway: a browser's token is in its cookie.
        Route::post("refresh", "/api/v1/sessions/refresh")
            .tag(TAG)
            .summary("Exchange the latest refresh token for a new pair. Using an old one ends the session. With `Tsunagu-Refresh-Cookie: true` the token is read from the refresh cookie (the body may then be `{}`) and the new one set in it.")
            .headers::<RefreshCookieHeader>()
            .body::<RefreshSession>()
            .answers::<TokenPair>(200, "a new pair")
            .with_headers(SET_COOKIE)
            .problems(&[
                (401, "invalid, or reused (the session has ended)"),
                (403, "the refresh cookie was used from another site"),
            ])
            .into(),
        // Answered by the gateway: a browser's refresh cookie is deleted too.
        Route::delete("sign_out", "/api/v1/sessions/current")
            .tag(TAG)
            .summary("Sign out: the session ends, its tokens stop working within seconds. A browser's refresh cookie is deleted too.")
            .door(Door::OwnAccount)
            .answers::<serde_json::Value>(200, "signed out")
            .with_headers(SET_COOKIE)
            .into(),
        // Answered by the gateway, like signing out.
        Route::delete("sign_out_everywhere", "/api/v1/me/sessions")
            .tag(TAG)
            .summary("Sign out everywhere: every session of yours ends, on every device, and its tokens stop working within seconds. A browser's refresh cookie is deleted too.")
            .door(Door::OwnAccount)
            .answers::<SessionsEnded>(200, "signed out everywhere")
            .with_headers(SET_COOKIE)
            .into(),
        Route::get("me", "/api/v1/me")
            .tag(TAG)
            .summary("The signed-in member's own record.")
            .door(Door::OwnAccount)
            .service(SERVICE, ep::GET_MEMBER, |_, _, _| Ok(GetMember { member_id: None }))
            .answers::<MemberView>(200, "you")
            .into(),
        Route::get(
            "list_members_of_municipality",
            "/api/v1/municipalities/{code}/members",
        )
        .tag(TAG)
        .summary("The members of a municipality, a page at a time, for its secretariat (and the operator). Another municipality's list is refused.")
        .door(Door::Signed(&[Action::ManageMembersOfMunicipality]))
        .path::<CodePath>()
        .query::<MemberListParams>()
        .service(SERVICE, ep::LIST_MEMBERS, |p, q, _| {
            Ok(ListMembers {
                municipality: p.code,
                after: q.after,
                limit: q.limit,
            })
        })
        .reads_after()
        .answers_page::<MemberView>(200, "a page")
        .problems(&[(403, "not your municipality")])
        .into(),
        Route::get("get_member", "/api/v1/members/{member_id}")
            .tag(TAG)
            .summary("One member, for those who manage them.")
            .door(Door::Signed(&[
                Action::ManageOwnAccount,
                Action::ManageMembersOfMunicipality,
                Action::ManageOwnStaff,
            ]))
            .path::<MemberPath>()
            .service(SERVICE, ep::GET_MEMBER, |p, _, _| {
                Ok(GetMember {
                    member_id: Some(p.member_id),
                })
            })
            .answers::<MemberView>(200, "the member")
            .into(),
        Route::post("deactivate", "/api/v1/members/{member_id}/deactivation")
            .tag(TAG)
            .summary("Deactivate a member who left: every session ends at once.")
            .door(MANAGE_MEMBERS)
            .path::<MemberPath>()
            .body::<Deactivation>()
            .service(SERVICE, ep::DEACTIVATE_MEMBER, |p, _, body| {
                Ok(DeactivateMember {
                    member_id: p.member_id,
                    reason: body.reason,
                })
            })
            .answers::<serde_json::Value>(200, "deactivated")
            .problems(&[(403, "not yours to manage")])
            .into(),
        Route::put("change_roles", "/api/v1/members/{member_id}/roles")
            .tag(TAG)
            .summary("Replace a member's roles (the whole set). Whoever manages the member may, and only with roles they could grant at invitation. The member's access tokens issued until now stop working; a refresh or a new sign-in carries the new roles. Asking for the roles the member already holds changes nothing and answers the same.")
            .door(MANAGE_MEMBERS)
            .path::<MemberPath>()
            .body::<RoleChange>()
            .service(SERVICE, ep::CHANGE_ROLES, |p, _, body| {
                Ok(ChangeRoles {
                    member_id: p.member_id,
                    roles: body.roles,
                    reason: body.reason,
                })
            })
            .answers::<MemberRoles>(200, "the member's roles now")
            .problems(&[
                (403, "not yours to manage, or a role you may not grant (the field names it)"),
                (404, "no such member"),
                (409, "the member has left, or a concurrent change"),
                (422, "no role, an integrator role, or a role needing a site for a member without one (`/roles`); no reason (`/reason`)"),
            ])
            .into(),
        Route::get("jwks", "/.well-known/jwks.json")
            .tag(TAG)
            .summary("The public keys that verify access tokens (JWKS). Keys rotate; an old key stays here until its last token has expired.")
            .service(SERVICE, ep::JWKS, |_, _, _| Ok(json!({})))
            .answers::<serde_json::Value>(200, "the keys")
            .into(),
        Route::post("rotate_signing_key", "/api/v1/signing-keys/rotation")
            .tag(TAG)
            .summary("Rotate the signing key: new tokens are signed with a new key; the old key stays in the JWKS until its last token has expired, so nobody is signed out.")
            .door(Door::Signed(&[Action::RotateSigningKeys]))
            .service(SERVICE, ep::ROTATE_SIGNING_KEY, |_, _, _| Ok(json!({})))
            .answers::<KeyRotated>(201, "rotated")
            .problems(&[(403, "only the operator")])
            .into(),
        Route::post("reset_credentials", "/api/v1/members/{member_id}/credential-reset")
            .tag(TAG)
            .summary("Reset a member's password and second factor: their sessions end, and the answer holds a one-time token with which they choose a new password and enrol again.")
            .door(Door::Signed(&[Action::ResetCredentials]))
            .path::<MemberPath>()
            .body::<Deactivation>()
            .service(SERVICE, ep::RESET_CREDENTIALS, |p, _, body| {
                Ok(ResetCredentials {
                    member_id: p.member_id,
                    reason: body.reason,
                })
            })
            .answers::<CredentialReset>(201, "reset")
            .problems(&[(403, "only the secretariat of the member's municipality")])
            .into(),
        Route::post("create_join_link", "/api/v1/join-links")
            .tag(TAG)
            .summary("Make an invitation link (URL or QR code) through which people join for broadcasts; the coordination centre verifies each before the membership opens.")
            .door(Door::Signed(&[Action::VerifySelfRegistration]))
            .body::<CreateJoinLink>()
            .body_ids(const { &[BodyId::own("/municipality", Object::Municipality)] })
            .service(SERVICE, ep::CREATE_JOIN_LINK, |_, _, body| Ok(body))
            .answers::<JoinLink>(200, "the link")
            .problems(&[(403, "only the coordination centre of that municipality")])
            .into(),
        Route::post("self_register", "/api/v1/self-registration")
            .tag(TAG)
            .summary("Join through a coordination centre's link: choose a username and password; the answer holds the second-factor secret to enrol. Sign-in opens once the centre verifies.")
            .body::<SelfRegister>()
            .service(SERVICE, ep::SELF_REGISTER, |_, _, body| Ok(body))
            .answers::<SecondFactorEnrolment>(200, "registered; enrol the second factor next")
            .problems(&[(409, "username taken")])
            .into(),
        Route::post("verify_member", "/api/v1/members/{member_id}/verification")
            .tag(TAG)
            .summary("The coordination centre verifies someone who joined through its link.")
            .door(Door::Signed(&[Action::VerifySelfRegistration]))
            .path::<MemberPath>()
            .service(SERVICE, ep::VERIFY_MEMBER, |p, _, _| {
                Ok(VerifyMember {
                    member_id: p.member_id,
                })
            })
            .answers::<serde_json::Value>(200, "verified")
            .problems(&[(403, "only the coordination centre of the member's municipality")])
            .into(),
        Route::post("register_integrator", "/api/v1/integrators")
            .tag(TAG)
            .summary("Register a machine client (integrator): the answer holds its secret, shown once.")
            .door(Door::Signed(&[Action::ManageIntegrators]))
            .body::<RegisterIntegrator>()
            .service(SERVICE, ep::REGISTER_INTEGRATOR, |_, _, body| Ok(body))
            .answers::<IntegratorCredentials>(201, "registered")
            .problems(&[(403, "only the operator")])
            .into(),
        // Answered by the gateway: the grant is a form (RFC 6749 §4.4), not JSON.
        Route::post("client_token", "/api/v1/oauth/token")
            .tag(TAG)
            .summary("OAuth2 token endpoint for machine clients: the client credentials grant (RFC 6749 §4.4), form-encoded, client secret in the body.")
            .body_doc(
                Content::of::<ClientCredentials>("application/x-www-form-urlencoded"),
                None,
            )
            .answers::<ClientToken>(200, "an access token")
            .problems(&[(401, "the client id or secret is wrong")])
            .into(),
    ]
}
