//! Members, joining and signing in: commands, answers and views.
//!
//! Secrets never appear in events: the activation token, the password, the second-factor
//! secret and the refresh token are answered once to the person who needs them and kept
//! (hashed or sealed) only in the identity service's credential store.

pub mod routes;

use chrono::{DateTime, Utc};
use permissions::{Profession, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Endpoint names on the bus.
pub mod endpoints {
    /// Command: invite a member (returns the one-time activation token).
    pub const INVITE_MEMBER: &str = "invite_member";
    /// Command: activate an account with its token: choose username and password.
    pub const ACTIVATE_ACCOUNT: &str = "activate_account";
    /// Command: confirm the second factor with a first code.
    pub const CONFIRM_SECOND_FACTOR: &str = "confirm_second_factor";
    /// Command: sign in with password and code; returns tokens.
    pub const SIGN_IN: &str = "sign_in";
    /// Command: exchange a refresh token for a new pair (rotation).
    pub const REFRESH_SESSION: &str = "refresh_session";
    /// Command: end the caller's session.
    pub const SIGN_OUT: &str = "sign_out";
    /// Command: end every session of the caller, on every device.
    pub const SIGN_OUT_EVERYWHERE: &str = "sign_out_everywhere";
    /// Command: deactivate a member who left; every session ends at once.
    pub const DEACTIVATE_MEMBER: &str = "deactivate_member";
    /// Command: replace a member's roles; their older access tokens stop working.
    pub const CHANGE_ROLES: &str = "change_roles";
    /// Query: one member.
    pub const GET_MEMBER: &str = "get_member";
    /// Query: the public keys that verify access tokens.
    pub const JWKS: &str = "jwks";
    /// Command: make an invitation link for self-registration (coordination centre).
    pub const CREATE_JOIN_LINK: &str = "create_join_link";
    /// Command: join through a link (broadcast-only until the centre verifies).
    pub const SELF_REGISTER: &str = "self_register";
    /// Command: the centre verifies a self-registered member.
    pub const VERIFY_MEMBER: &str = "verify_member";
    /// Command: register a machine client (returns its secret once).
    pub const REGISTER_INTEGRATOR: &str = "register_integrator";
    /// Command: exchange client credentials for an access token (OAuth2).
    pub const CLIENT_TOKEN: &str = "client_token";
    /// Command: reset a member's password and second factor (returns a one-time token).
    pub const RESET_CREDENTIALS: &str = "reset_credentials";
    /// Command: make a new signing key current (the old one verifies until its tokens expire).
    pub const ROTATE_SIGNING_KEY: &str = "rotate_signing_key";
    /// Query: a page of one municipality's members ([`super::ListMembers`]).
    pub const LIST_MEMBERS: &str = "list_members";
}

/// The aggregate type of a member.
pub const MEMBER: &str = "member";

/// A site's id as sent: a UUID.
#[derive(ToSchema)]
#[schema(value_type = String, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
pub struct SiteIdText(#[allow(dead_code)] String);

/// Invite someone. Body of `POST /api/v1/invitations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteMember {
    /// Name in kanji.
    #[schema(min_length = 1, max_length = 200, example = "看護 花子")]
    pub name: String,
    /// Reading in kana.
    #[schema(max_length = 200, example = "カンゴ ハナコ")]
    pub name_kana: String,
    /// Profession.
    #[schema(schema_with = crate::closed_lists::profession)]
    pub profession: Profession,
    /// Roles (at least one).
    #[schema(schema_with = crate::closed_lists::roles)]
    pub roles: Vec<Role>,
    /// Site ids the member works at (at least one, except for the operator, secretariat
    /// and auditors).
    #[schema(value_type = Vec<SiteIdText>)]
    pub sites: Vec<String>,
    /// The member's municipality (6-digit code). The last digit is a check digit (JIS X 0402, modulus 11): a code whose check digit is wrong is refused (422).
    #[schema(example = "322032", pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub municipality: String,
}

/// The answer to an invitation: hand the token to the person (mail comes later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    /// The new member's id.
    pub member_id: String,
    /// One-time activation token, shown once.
    pub activation_token: String,
    /// Until when it works.
    pub expires_at: DateTime<Utc>,
}

/// Activate an account. Body of `POST /api/v1/activation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateAccount {
    /// The token from the invitation.
    pub activation_token: String,
    /// The name to sign in with: 3–64 lowercase ASCII letters, digits, `.`, `_`, `-`.
    #[schema(pattern = "^[a-z0-9._-]{3,64}$", example = "hanako.kango")]
    pub username: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

/// The answer to an activation: enrol the second factor, then confirm it with a code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecondFactorEnrolment {
    /// The member.
    pub member_id: String,
    /// Token for confirming the second factor (one-time).
    pub enrolment_token: String,
    /// The TOTP secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI to show as a QR code.
    pub otpauth_uri: String,
    /// The same URI as an SVG QR code, ready to show.
    pub qr_svg: String,
}

/// Confirm the second factor. Body of `POST /api/v1/activation/second-factor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmSecondFactor {
    /// The token from the activation.
    pub enrolment_token: String,
    /// The current 6-digit code.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// Sign in. Body of `POST /api/v1/sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// The current 6-digit code of the second factor.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// Refresh. Body of `POST /api/v1/sessions/refresh`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshSession {
    /// The latest refresh token of the session (each works once). Left out by a browser
    /// whose token is in the refresh cookie.
    #[serde(default)]
    pub refresh_token: String,
}

/// Tokens for a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    /// A short-lived access token (JWT, EdDSA).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// A refresh token, valid once; using an old one ends the session. Absent when it was
    /// set as the browser's refresh cookie instead.
    #[serde(default)]
    pub refresh_token: String,
    /// The session.
    pub session_id: String,
}

/// Deactivate a member. Body of `POST /api/v1/members/{member_id}/deactivation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deactivation {
    /// Why (kept with the event; no personal data, please).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Deactivate: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeactivateMember {
    /// The member.
    pub member_id: String,
    /// Why.
    pub reason: String,
}

/// Change a member's roles. Body of `PUT /api/v1/members/{member_id}/roles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// The whole set of roles the member holds from now on (at least one; no `integrator`).
    #[schema(schema_with = crate::closed_lists::roles)]
    pub roles: Vec<Role>,
    /// Why (kept with the event; no personal data, please).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Change roles: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRoles {
    /// The member.
    pub member_id: String,
    /// The roles they hold from now on.
    pub roles: Vec<Role>,
    /// Why.
    pub reason: String,
}

/// The answer to a role change: the roles the member holds now (also when they already
/// held exactly these, and nothing was recorded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberRoles {
    /// The member.
    pub member_id: String,
    /// Their roles (sorted, no duplicates).
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
}

/// Query one member; `None` = the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetMember {
    /// The member, or the caller when absent.
    pub member_id: Option<String>,
}

/// Query: a page of the members of one municipality, by id, for those who manage them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListMembers {
    /// The municipality (local government code).
    pub municipality: String,
    /// Start after this member (key paging).
    pub after: Option<String>,
    /// Page size (1–200, default 50).
    pub limit: Option<u32>,
}

/// Where a member's account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Invited, not yet activated.
    Invited,
    /// Password set, second factor not yet confirmed.
    Activating,
    /// Joined through a link and enrolled; waits for the coordination centre.
    AwaitingVerification,
    /// Can sign in.
    Active,
    /// Left; cannot sign in.
    Deactivated,
}

/// A member as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    /// Id.
    pub member_id: String,
    /// Name in kanji.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// Profession.
    #[schema(schema_with = crate::closed_lists::profession)]
    pub profession: Profession,
    /// Roles.
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
    /// Sites.
    pub sites: Vec<String>,
    /// Municipality.
    pub municipality: String,
    /// Account status.
    pub status: MemberStatus,
}

/// The answer to a key rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KeyRotated {
    /// The new current key's id.
    pub kid: String,
}

/// Reset a member's credentials: the bus command (body of
/// `POST /api/v1/members/{member_id}/credential-reset` is a [`Deactivation`]-shaped reason).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetCredentials {
    /// The member.
    pub member_id: String,
    /// Why.
    pub reason: String,
}

/// The answer to a reset: hand the token to the member, who activates again with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CredentialReset {
    /// The member.
    pub member_id: String,
    /// One-time token for `POST /api/v1/activation`.
    pub activation_token: String,
    /// Until when it works.
    pub expires_at: DateTime<Utc>,
}

/// Make a link for self-registration. Body of `POST /api/v1/join-links`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJoinLink {
    /// The municipality whose centre verifies those who join (6-digit code). The last digit is a check digit (JIS X 0402, modulus 11): a code whose check digit is wrong is refused (422).
    #[schema(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub municipality: String,
    /// Days the link works (1–90).
    #[schema(minimum = 1, maximum = 90)]
    pub valid_days: u32,
}

/// A link for self-registration: share it as a URL or QR code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JoinLink {
    /// The token in the link.
    pub link_token: String,
    /// Until when it works.
    pub expires_at: DateTime<Utc>,
}

/// Join through a link. Body of `POST /api/v1/self-registration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfRegister {
    /// The token from the link.
    pub link_token: String,
    /// Name in kanji.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Reading in kana.
    #[schema(max_length = 200)]
    pub name_kana: String,
    /// Profession.
    #[schema(schema_with = crate::closed_lists::profession)]
    pub profession: Profession,
    /// The name to sign in with.
    #[schema(pattern = "^[a-z0-9._-]{3,64}$")]
    pub username: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

/// Verify a self-registered member: the bus command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyMember {
    /// The member.
    pub member_id: String,
}

/// Register a machine client. Body of `POST /api/v1/integrators`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIntegrator {
    /// The vendor or system, as shown to operators.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// A registered machine client: keep the secret, it is shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntegratorCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret (shown once; stored hashed).
    pub client_secret: String,
}

/// OAuth2 client credentials grant (RFC 6749 §4.4), as the gateway read it from the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentials {
    /// Must be `client_credentials`.
    #[schema(pattern = "^client_credentials$", example = "client_credentials")]
    pub grant_type: String,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// Requested scope (accepted and ignored: a client's reach is its registration's).
    #[serde(default)]
    pub scope: Option<String>,
}

/// An access token for a machine client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClientToken {
    /// The access token (JWT, EdDSA).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}
