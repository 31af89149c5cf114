//! Joining, signing in and leaving: invitations, activation, second-factor enrolment,
//! sign-in with password and code, refresh-token rotation with reuse detection,
//! sign-out, role changes and deactivation. Secrets go to the credential store; facts go to
//! the stream.

use bus::{CallContext, Reply};
use chrono::Duration;
use credentials::password::{PasswordError, hash_password, verify_password};
use credentials::totp::{TotpError, TotpSecret};
use event_store::{ExpectedVersion, Visibility};
use identity_api::events::{IdentityEvent, SignInFailure};
use identity_api::members::*;
use permissions::{Action, Caller, Relationship, Role, Subject};
use problem::Problem;
use tokens::{ACCESS, AccessClaims};
use uuid::Uuid;

use crate::credential_store::{self as store, RefreshOutcome};
use crate::domain::Invalid;
use crate::domain::member::{self, Member, MemberCommand, MemberError};
use crate::handlers::{Identity, Scope};

/// Aggregate of a member's sign-in facts (successes, failures, lock-outs, revocations).
pub const MEMBER_SESSION: &str = "member_session";
/// Aggregate for failures naming no known account.
const UNKNOWN_ACCOUNT: &str = "unknown";

/// How long an invitation's activation token works.
pub const INVITATION_DAYS: i64 = 14;
/// How long an enrolment may take.
pub const ENROLMENT_MINUTES: i64 = 30;

fn member_problem(e: MemberError) -> Problem {
    match e {
        MemberError::Invalid(i) => i.into(),
        MemberError::AlreadyInvited => Problem::conflict("already-exists", e.to_string()),
        MemberError::NotFound => Problem::not_found(e.to_string()),
        MemberError::WrongStep | MemberError::Deactivated => {
            Problem::conflict("wrong-step", e.to_string())
        }
    }
}

/// The event of a member command that always records one. Only a role change may decide
/// to record nothing, and its handler reads the decision itself.
fn one_event(
    decided: Result<Option<IdentityEvent>, MemberError>,
) -> Result<IdentityEvent, Problem> {
    decided
        .map_err(member_problem)?
        .ok_or_else(|| Problem::conflict("wrong-step", "nothing to change"))
}

/// Nobody hands out a role above their own: the operator grants any, the secretariat any
/// but the region's (operator, auditor, integrator), everyone else the roles of a site.
fn grantable(caller: &Caller, role: Role) -> bool {
    use Role as R;
    if caller.subject.has_role(R::Operator) {
        return true;
    }
    if caller.subject.has_role(R::MunicipalSecretariat) {
        return !matches!(role, R::Operator | R::Auditor | R::Integrator);
    }
    matches!(
        role,
        R::Professional | R::SiteAdmin | R::CommunitySupportCentreStaff
    )
}

/// Refuses (403, naming the first such role in `/roles/{i}`) a grant of a role above the
/// caller's own. The bootstrap credential has no caller: it acts as the operator.
fn may_grant(ctx: &CallContext, roles: &[Role]) -> Result<(), Problem> {
    let Some(caller) = &ctx.caller else {
        return Ok(());
    };
    match roles.iter().position(|r| !grantable(caller, *r)) {
        Some(i) => Err(Problem::forbidden("you may not grant this role")
            .with_field(format!("/roles/{i}"), "above your own")),
        None => Ok(()),
    }
}

fn store_failed(e: store::StoreError) -> Problem {
    tracing::error!(error = %e, "credential store failure");
    Problem::unavailable("the credential store is unavailable; try again")
}

/// The one answer to every failed sign-in, whatever failed: it tells an attacker nothing.
fn sign_in_refused() -> Problem {
    Problem::unauthenticated("the username, password or code is wrong")
}

/// argon2id takes tens of milliseconds of CPU: run it off the async workers so one
/// sign-in does not stall every other request of the service.
async fn hashed(password: &str) -> Result<credentials::password::PasswordHash, PasswordError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .unwrap_or(Err(PasswordError::Hashing))
}

async fn verified(password: &str, hash: &credentials::password::PasswordHash) -> bool {
    let (password, hash) = (password.to_owned(), hash.clone());
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// A username as people may choose it: 3–64 lowercase letters, digits, `.`, `_`, `-`.
fn checked_username(text: &str) -> Result<String, Problem> {
    let username = text.trim().to_owned();
    let ok = (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(username)
    } else {
        Err(Invalid::new(
            "/username",
            "3 to 64 lowercase letters, digits, '.', '_' or '-'",
        )
        .into())
    }
}

/// Hashes a password someone chose; one that breaks the policy names the field.
async fn new_password_hash(password: &str) -> Result<credentials::password::PasswordHash, Problem> {
    hashed(password).await.map_err(|e| match e {
        PasswordError::Hashing => Problem::internal(),
        other => Invalid::new("/password", other).into(),
    })
}

/// A refusal about a member of another municipality than the caller's is told as if the
/// member did not exist: an id from another municipality answers like an id nobody has.
/// Within one's own municipality the refusal says why.
fn as_if_absent(ctx: &CallContext, municipality: &str, refusal: Problem) -> Problem {
    match &ctx.caller {
        Some(caller)
            if refusal.status == 403 && caller.municipality.as_deref() != Some(municipality) =>
        {
            Problem::not_found("no such member")
        }
        _ => refusal,
    }
}

fn subject(caller: &Caller) -> &Subject {
    &caller.subject
}

impl Identity {
    /// A fresh second factor waiting for its first code: the secret, its URI and QR code
    /// for the member, sealed in the store under a one-time enrolment token.
    async fn start_second_factor(
        &self,
        member_id: Uuid,
        username: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SecondFactorEnrolment, Problem> {
        let secret = TotpSecret::generate();
        let enrolment_token = self
            .credentials
            .start_enrolment(
                member_id,
                &secret,
                now + Duration::minutes(ENROLMENT_MINUTES),
            )
            .await
            .map_err(store_failed)?;
        Ok(SecondFactorEnrolment {
            member_id: member_id.to_string(),
            enrolment_token,
            secret: secret.to_base32(),
            otpauth_uri: secret.otpauth_uri("tsunagu", username),
            qr_svg: secret.qr_svg("tsunagu", username),
        })
    }

    /// Signs an access token: `claims` name who it is for; issuer, audience, times, id
    /// and type are filled in here, the same for every token.
    fn sign_access(
        &self,
        key: &tokens::SigningKey,
        claims: AccessClaims,
    ) -> Result<String, Problem> {
        let now = self.clock.now().timestamp();
        let claims = AccessClaims {
            iss: self.tokens.issuer.clone(),
            aud: self.tokens.audience.clone(),
            exp: now + self.tokens.access_ttl.num_seconds(),
            nbf: now,
            iat: now,
            jti: Uuid::now_v7().to_string(),
            typ: ACCESS.to_owned(),
            ..claims
        };
        key.sign(&claims).map_err(|_| Problem::internal())
    }

    /// Appends a member's event at the version it was loaded at, as data of the member's
    /// municipality.
    async fn append_member(
        &self,
        ctx: &CallContext,
        member_id: &str,
        version: u64,
        event: IdentityEvent,
        municipality: &str,
    ) -> Result<event_store::Position, Problem> {
        self.append_as(
            ctx,
            MEMBER,
            member_id,
            ExpectedVersion::from_loaded(version),
            event,
            Self::member_scope(municipality),
        )
        .await
    }

    async fn load_member(&self, member_id: &str) -> Result<(Option<Member>, u64), Problem> {
        self.load(MEMBER, member_id, member::evolve).await
    }

    fn member_scope(municipality: &str) -> Scope {
        Scope {
            visibility: Visibility::Municipality,
            municipality: Some(municipality.to_owned()),
        }
    }

    /// Records a sign-in fact on the member's session aggregate.
    async fn record(
        &self,
        ctx: &CallContext,
        member_id: Option<&str>,
        municipality: Option<&str>,
        event: IdentityEvent,
    ) {
        let scope = Scope {
            visibility: if municipality.is_some() {
                Visibility::Municipality
            } else {
                Visibility::Region
            },
            municipality: municipality.map(str::to_owned),
        };
        let id = member_id.unwrap_or(UNKNOWN_ACCOUNT);
        if let Err(p) = self
            .append_as(ctx, MEMBER_SESSION, id, ExpectedVersion::Any, event, scope)
            .await
        {
            tracing::error!(problem = %p, "could not record a sign-in fact");
        }
    }

    /// May the caller manage members of `municipality` working at `sites`?
    /// A member the caller may manage, with the version of their events; 404 for an id
    /// that names nobody.
    async fn managed_member(
        &self,
        ctx: &CallContext,
        member_id: &str,
    ) -> Result<(Uuid, Member, u64), Problem> {
        let id = Uuid::parse_str(member_id).map_err(|_| Problem::not_found("no such member"))?;
        let (state, version) = self.load_member(member_id).await?;
        let Some(member) = state else {
            return Err(Problem::not_found("no such member"));
        };
        self.may_manage_members(ctx, &member.municipality, &member.sites)
            .await
            .map_err(|refusal| as_if_absent(ctx, &member.municipality, refusal))?;
        Ok((id, member, version))
    }

    async fn may_manage_members(
        &self,
        ctx: &CallContext,
        municipality: &str,
        sites: &[String],
    ) -> Result<(), Problem> {
        if ctx.actor == "operator:bootstrap" {
            return Ok(());
        }
        let Some(caller) = &ctx.caller else {
            return Err(Problem::unauthenticated("sign in first"));
        };
        let s = subject(caller);
        let own_municipality = caller.municipality.as_deref() == Some(municipality);
        let mut relationships = Vec::new();
        if own_municipality {
            relationships.push(Relationship::OwnMunicipality);
        }
        if permissions::decide(s, Action::ManageMembersOfMunicipality, &relationships).is_allowed()
        {
            return Ok(());
        }
        // A site admin manages the staff of the sites of their own organisation(s).
        if !sites.is_empty() {
            let own = self.organisations_of(&caller.sites).await?;
            let theirs = self.organisations_of(sites).await?;
            if !own.is_empty() && theirs.len() == 1 && theirs.iter().all(|o| own.contains(o)) {
                relationships.push(Relationship::OwnOrganisation);
            }
        }
        if permissions::decide(s, Action::ManageOwnStaff, &relationships).is_allowed() {
            return Ok(());
        }
        Err(Problem::forbidden("you may not manage these members"))
    }

    async fn organisations_of(&self, sites: &[String]) -> Result<Vec<String>, Problem> {
        // Sites registered a moment ago must count: read the directory once it has caught up.
        self.settled().await?;
        let client = self
            .pool
            .get()
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        let rows = client
            .query(
                "SELECT DISTINCT organisation_id FROM register.sites WHERE site_id = ANY($1) AND closed_at IS NULL",
                &[&sites],
            )
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(crate) async fn open_sites(&self, sites: &[String]) -> Result<Vec<String>, Problem> {
        self.settled().await?;
        let client = self
            .pool
            .get()
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        let rows = client
            .query(
                "SELECT site_id FROM register.sites WHERE site_id = ANY($1) AND closed_at IS NULL",
                &[&sites],
            )
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(crate) async fn invite_member(
        &self,
        ctx: &CallContext,
        c: InviteMember,
    ) -> Result<Reply, Problem> {
        let code = crate::domain::municipality::parse_code("/municipality", &c.municipality)?;
        self.may_manage_members(ctx, code.as_str(), &c.sites)
            .await?;
        may_grant(ctx, &c.roles)?;
        let open = self.open_sites(&c.sites).await?;
        let unknown_sites = c
            .sites
            .iter()
            .filter(|s| !open.contains(s))
            .cloned()
            .collect();
        let municipality_registered = self.is_registered(code.as_str()).await?;
        let now = self.clock.now();
        let expires_at = now + Duration::days(INVITATION_DAYS);
        let member_id = Uuid::now_v7();
        let event = one_event(member::decide(
            None,
            MemberCommand::Invite {
                member_id: member_id.to_string(),
                name: c.name,
                name_kana: c.name_kana,
                profession: c.profession,
                roles: c.roles,
                sites: c.sites,
                unknown_sites,
                municipality: code.as_str().to_owned(),
                municipality_registered,
                expires_at,
            },
        ))?;
        let token = self
            .credentials
            .create_activation(member_id, expires_at)
            .await
            .map_err(store_failed)?;
        let position = self
            .append_as(
                ctx,
                MEMBER,
                &member_id.to_string(),
                ExpectedVersion::NoStream,
                event,
                Self::member_scope(code.as_str()),
            )
            .await?;
        Ok(Reply::written(
            Invitation {
                member_id: member_id.to_string(),
                activation_token: token,
                expires_at,
            },
            position,
        ))
    }

    pub(crate) async fn activate_account(
        &self,
        ctx: &CallContext,
        c: ActivateAccount,
    ) -> Result<Reply, Problem> {
        let username = checked_username(&c.username)?;
        let hash = new_password_hash(&c.password).await?;
        let now = self.clock.now();
        let member_id = match self
            .credentials
            .activate(&c.activation_token, &username, &hash, now)
            .await
            .map_err(store_failed)?
        {
            None => {
                return Err(Problem::invalid_field(
                    "/activation_token",
                    "unknown, used or expired",
                ));
            }
            Some(Err(store::UsernameTaken)) => {
                return Err(
                    Problem::conflict("username-taken", "choose another username")
                        .with_field("/username", "taken"),
                );
            }
            Some(Ok(id)) => id,
        };
        let (state, version) = self.load_member(&member_id.to_string()).await?;
        let event = one_event(member::decide(state.as_ref(), MemberCommand::Activate))?;
        let municipality = state.map(|m| m.municipality).unwrap_or_default();
        let position = self
            .append_member(ctx, &member_id.to_string(), version, event, &municipality)
            .await?;
        let enrolment = self.start_second_factor(member_id, &username, now).await?;
        Ok(Reply::written(enrolment, position))
    }

    pub(crate) async fn confirm_second_factor(
        &self,
        ctx: &CallContext,
        c: ConfirmSecondFactor,
    ) -> Result<Reply, Problem> {
        let now = self.clock.now();
        let Some((member_id, secret)) = self
            .credentials
            .enrolment(&c.enrolment_token, now)
            .await
            .map_err(store_failed)?
        else {
            return Err(Problem::invalid_field(
                "/enrolment_token",
                "unknown, used or expired",
            ));
        };
        let step = secret.verify(&c.code, now.timestamp(), None).map_err(|_| {
            Problem::invalid_field(
                "/code",
                "the code is wrong; check the authenticator's clock",
            )
        })?;
        let (state, version) = self.load_member(&member_id.to_string()).await?;
        let event = one_event(member::decide(
            state.as_ref(),
            MemberCommand::ConfirmSecondFactor,
        ))?;
        if !self
            .credentials
            .finish_enrolment(&c.enrolment_token, step, now)
            .await
            .map_err(store_failed)?
        {
            return Err(Problem::invalid_field(
                "/enrolment_token",
                "unknown, used or expired",
            ));
        }
        let municipality = state.map(|m| m.municipality).unwrap_or_default();
        let position = self
            .append_member(ctx, &member_id.to_string(), version, event, &municipality)
            .await?;
        Ok(Reply::written(
            serde_json::json!({ "member_id": member_id.to_string() }),
            position,
        ))
    }

    fn access_token(
        &self,
        member: &Member,
        session_id: Uuid,
        key: &tokens::SigningKey,
    ) -> Result<TokenPair, Problem> {
        let access_token = self.sign_access(
            key,
            AccessClaims {
                sub: member.member_id.clone(),
                sid: session_id.to_string(),
                roles: member.roles.iter().map(|r| r.as_str().to_owned()).collect(),
                profession: Some(member.profession.as_str().to_owned()),
                sites: member.sites.clone(),
                municipality: Some(member.municipality.clone()),
                amr: vec!["pwd".to_owned(), "otp".to_owned()],
                ..Default::default()
            },
        )?;
        Ok(TokenPair {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: self.tokens.access_ttl.num_seconds(),
            refresh_token: String::new(),
            session_id: session_id.to_string(),
        })
    }

    pub(crate) async fn sign_in(&self, ctx: &CallContext, c: SignIn) -> Result<Reply, Problem> {
        let now = self.clock.now();
        let username = c.username.trim().to_ascii_lowercase();
        let Some((member_id, hash)) = self
            .credentials
            .account(&username)
            .await
            .map_err(store_failed)?
        else {
            // Hash anyway, so an unknown name takes as long as a wrong password.
            let _ = hashed("timing-equaliser-0000").await;
            self.record(
                ctx,
                None,
                None,
                IdentityEvent::SignInFailed {
                    member_id: None,
                    reason: SignInFailure::UnknownAccount,
                },
            )
            .await;
            return Err(sign_in_refused());
        };
        let id = member_id.to_string();
        let (state, _) = self.load_member(&id).await?;
        let Some(member) = state else {
            return Err(sign_in_refused());
        };
        let municipality = member.municipality.clone();
        let fail = |reason: SignInFailure| IdentityEvent::SignInFailed {
            member_id: Some(id.clone()),
            reason,
        };
        if let Some(until) = self
            .credentials
            .locked_until(member_id, now)
            .await
            .map_err(store_failed)?
        {
            self.record(
                ctx,
                Some(&id),
                Some(&municipality),
                fail(SignInFailure::LockedOut),
            )
            .await;
            let wait = (until - now).num_seconds().max(1);
            return Err(Problem::new(429, "locked-out", "Too many failed sign-ins")
                .with_detail(format!("try again in {wait} seconds")));
        }
        // Password first (the costly check every attempt pays), then the account's state,
        // and only then the code: a code is used up only by a sign-in that can succeed.
        let refusal = if !verified(&c.password, &hash).await {
            Some(SignInFailure::WrongPassword)
        } else if member.status != MemberStatus::Active {
            Some(SignInFailure::NotActive)
        } else {
            match self
                .credentials
                .second_factor(member_id)
                .await
                .map_err(store_failed)?
            {
                None => Some(SignInFailure::NotActive),
                Some((secret, last)) => match secret.verify(&c.code, now.timestamp(), last) {
                    Ok(step)
                        if self
                            .credentials
                            .use_step(member_id, step)
                            .await
                            .map_err(store_failed)? =>
                    {
                        None
                    }
                    Ok(_) | Err(TotpError::Replayed) => Some(SignInFailure::ReplayedCode),
                    Err(_) => Some(SignInFailure::WrongCode),
                },
            }
        };
        if let Some(reason) = refusal {
            self.record(ctx, Some(&id), Some(&municipality), fail(reason))
                .await;
            if let Some(until) = self
                .credentials
                .record_failure(member_id, now)
                .await
                .map_err(store_failed)?
            {
                self.record(
                    ctx,
                    Some(&id),
                    Some(&municipality),
                    IdentityEvent::MemberLockedOut {
                        member_id: id.clone(),
                        until,
                    },
                )
                .await;
            }
            return Err(sign_in_refused());
        }
        self.credentials
            .clear_failures(member_id)
            .await
            .map_err(store_failed)?;
        let (session_id, refresh) = self
            .credentials
            .open_session(member_id, now)
            .await
            .map_err(store_failed)?;
        let key = self
            .credentials
            .signing_key(now)
            .await
            .map_err(store_failed)?;
        let mut pair = self.access_token(&member, session_id, &key)?;
        pair.refresh_token = refresh;
        self.record(
            ctx,
            Some(&id),
            Some(&municipality),
            IdentityEvent::MemberSignedIn {
                member_id: id.clone(),
                session_id: session_id.to_string(),
                amr: vec!["pwd".into(), "otp".into()],
            },
        )
        .await;
        Ok(Reply::value(pair))
    }

    pub(crate) async fn refresh_session(
        &self,
        ctx: &CallContext,
        c: RefreshSession,
    ) -> Result<Reply, Problem> {
        let now = self.clock.now();
        match self
            .credentials
            .refresh(&c.refresh_token, now)
            .await
            .map_err(store_failed)?
        {
            RefreshOutcome::Invalid => {
                Err(Problem::unauthenticated("the refresh token is not valid"))
            }
            RefreshOutcome::Reused {
                session_id,
                member_id,
            } => {
                let id = member_id.to_string();
                let (state, _) = self.load_member(&id).await?;
                let municipality = state.map(|m| m.municipality);
                self.record(
                    ctx,
                    Some(&id),
                    municipality.as_deref(),
                    IdentityEvent::SessionRevoked {
                        member_id: id.clone(),
                        session_id: session_id.to_string(),
                        reason: "refresh_token_reused".into(),
                    },
                )
                .await;
                Err(Problem::unauthenticated(
                    "the refresh token was already used: the session has ended",
                ))
            }
            RefreshOutcome::Rotated {
                session_id,
                member_id,
                refresh_token,
            } => {
                let (state, _) = self.load_member(&member_id.to_string()).await?;
                let member = state
                    .filter(|m| m.status == MemberStatus::Active)
                    .ok_or_else(|| Problem::unauthenticated("the account is not active"))?;
                let key = self
                    .credentials
                    .signing_key(now)
                    .await
                    .map_err(store_failed)?;
                let mut pair = self.access_token(&member, session_id, &key)?;
                pair.refresh_token = refresh_token;
                Ok(Reply::value(pair))
            }
        }
    }

    pub(crate) async fn sign_out(&self, ctx: &CallContext) -> Result<Reply, Problem> {
        let Some(caller) = &ctx.caller else {
            return Err(Problem::unauthenticated("sign in first"));
        };
        let session_id = Uuid::parse_str(&caller.session_id)
            .map_err(|_| Problem::unauthenticated("no session"))?;
        if self
            .credentials
            .revoke_session(session_id, "signed_out", self.clock.now())
            .await
            .map_err(store_failed)?
        {
            self.record(
                ctx,
                Some(&caller.member_id),
                caller.municipality.as_deref(),
                IdentityEvent::SessionRevoked {
                    member_id: caller.member_id.clone(),
                    session_id: caller.session_id.clone(),
                    reason: "signed_out".into(),
                },
            )
            .await;
        }
        Ok(Reply::value(
            serde_json::json!({ "session_id": caller.session_id }),
        ))
    }

    /// Ends every session of the caller (a lost phone, a shared computer left signed in):
    /// each is recorded as revoked, so the gateway refuses its tokens and auditors see it.
    pub(crate) async fn sign_out_everywhere(&self, ctx: &CallContext) -> Result<Reply, Problem> {
        let Some(caller) = &ctx.caller else {
            return Err(Problem::unauthenticated("sign in first"));
        };
        let member_id = Uuid::parse_str(&caller.member_id)
            .map_err(|_| Problem::unauthenticated("no session"))?;
        let ended = self
            .credentials
            .revoke_all(member_id, "signed_out_everywhere", self.clock.now())
            .await
            .map_err(store_failed)?;
        for session_id in &ended {
            self.record(
                ctx,
                Some(&caller.member_id),
                caller.municipality.as_deref(),
                IdentityEvent::SessionRevoked {
                    member_id: caller.member_id.clone(),
                    session_id: session_id.to_string(),
                    reason: "signed_out_everywhere".into(),
                },
            )
            .await;
        }
        Ok(Reply::value(
            serde_json::json!({ "sessions_ended": ended.len() }),
        ))
    }

    pub(crate) async fn deactivate_member(
        &self,
        ctx: &CallContext,
        c: DeactivateMember,
    ) -> Result<Reply, Problem> {
        let (member_id, member, version) = self.managed_member(ctx, &c.member_id).await?;
        let event = one_event(member::decide(
            Some(&member),
            MemberCommand::Deactivate { reason: c.reason },
        ))?;
        // Sessions end first: from here on, refresh fails whatever happens next.
        self.credentials
            .revoke_all(member_id, "member_deactivated", self.clock.now())
            .await
            .map_err(store_failed)?;
        let position = self
            .append_member(ctx, &c.member_id, version, event, &member.municipality)
            .await?;
        Ok(Reply::written(
            serde_json::json!({ "member_id": c.member_id }),
            position,
        ))
    }

    /// Replaces a member's roles. Whoever manages the member may, with roles they could grant
    /// at invitation; taking a role away needs the same right as granting it. The member's
    /// sessions stay open: the gateway refuses their older access tokens (it follows
    /// `MemberRolesChanged`), and refresh reads the roles from the member's events.
    pub(crate) async fn change_roles(
        &self,
        ctx: &CallContext,
        c: ChangeRoles,
    ) -> Result<Reply, Problem> {
        let (_, member, version) = self.managed_member(ctx, &c.member_id).await?;
        may_grant(ctx, &c.roles)?;
        if let Some(caller) = &ctx.caller
            && let Some(role) = member
                .roles
                .iter()
                .find(|r| !c.roles.contains(r) && !grantable(caller, **r))
        {
            return Err(Problem::forbidden("you may not take this role away")
                .with_field("/roles", format!("{} is above your own", role.as_str())));
        }
        let decided = member::decide(
            Some(&member),
            MemberCommand::ChangeRoles {
                roles: c.roles,
                reason: c.reason,
            },
        )
        .map_err(member_problem)?;
        let Some(event) = decided else {
            // The member already holds these roles: a repeated PUT answers as the first did.
            let position = event_store::Position {
                stream: self.store.stream_name(identity_api::CONTEXT),
                sequence: version,
            };
            return Ok(Reply::written(
                MemberRoles {
                    member_id: c.member_id,
                    roles: member.roles,
                },
                position,
            ));
        };
        let roles = member::evolve(Some(member.clone()), &event).map_or_else(Vec::new, |m| m.roles);
        let position = self
            .append_member(ctx, &c.member_id, version, event, &member.municipality)
            .await?;
        Ok(Reply::written(
            MemberRoles {
                member_id: c.member_id,
                roles,
            },
            position,
        ))
    }

    pub(crate) async fn reset_credentials(
        &self,
        ctx: &CallContext,
        c: ResetCredentials,
    ) -> Result<Reply, Problem> {
        let member_id =
            Uuid::parse_str(&c.member_id).map_err(|_| Problem::not_found("no such member"))?;
        let (state, version) = self.load_member(&c.member_id).await?;
        let Some(member) = state else {
            return Err(Problem::not_found("no such member"));
        };
        let allowed = ctx.actor == "operator:bootstrap"
            || ctx.caller.as_ref().is_some_and(|caller| {
                let own = caller.municipality.as_deref() == Some(member.municipality.as_str());
                let ties: &[Relationship] = if own {
                    &[Relationship::OwnMunicipality]
                } else {
                    &[]
                };
                permissions::decide(subject(caller), Action::ResetCredentials, ties).is_allowed()
            });
        if !allowed {
            let refusal = Problem::forbidden(
                "only the secretariat of the member's municipality resets credentials",
            );
            return Err(as_if_absent(ctx, &member.municipality, refusal));
        }
        let event = one_event(member::decide(
            Some(&member),
            MemberCommand::ResetCredentials {
                reason: c.reason.clone(),
            },
        ))?;
        let now = self.clock.now();
        let expires_at = now + Duration::days(3);
        let token = self
            .credentials
            .reset(member_id, "credentials_reset", expires_at, now)
            .await
            .map_err(store_failed)?;
        let position = self
            .append_member(ctx, &c.member_id, version, event, &member.municipality)
            .await?;
        Ok(Reply::written(
            CredentialReset {
                member_id: c.member_id,
                activation_token: token,
                expires_at,
            },
            position,
        ))
    }

    /// May the caller verify self-registrations in `municipality` (the centre's job)?
    fn may_verify(&self, ctx: &CallContext, municipality: &str) -> Result<(), Problem> {
        if ctx.actor == "operator:bootstrap" {
            return Ok(());
        }
        let Some(caller) = &ctx.caller else {
            return Err(Problem::unauthenticated("sign in first"));
        };
        let own = caller.municipality.as_deref() == Some(municipality);
        let ties: &[Relationship] = if own {
            &[Relationship::OwnMunicipality]
        } else {
            &[]
        };
        if permissions::decide(subject(caller), Action::VerifySelfRegistration, ties).is_allowed() {
            Ok(())
        } else {
            Err(Problem::forbidden(
                "only the coordination centre of this municipality",
            ))
        }
    }

    pub(crate) async fn create_join_link(
        &self,
        ctx: &CallContext,
        c: CreateJoinLink,
    ) -> Result<Reply, Problem> {
        let code = crate::domain::municipality::parse_code("/municipality", &c.municipality)?;
        if !(1..=90).contains(&c.valid_days) {
            return Err(Invalid::new("/valid_days", "a link works 1 to 90 days").into());
        }
        self.may_verify(ctx, code.as_str())?;
        if !self.is_registered(code.as_str()).await? {
            return Err(Invalid::new(
                "/municipality",
                "no municipality is registered under this code",
            )
            .into());
        }
        let now = self.clock.now();
        let expires_at = now + Duration::days(i64::from(c.valid_days));
        let token = self
            .credentials
            .create_join_link(code.as_str(), &ctx.actor, expires_at, now)
            .await
            .map_err(store_failed)?;
        Ok(Reply::value(JoinLink {
            link_token: token,
            expires_at,
        }))
    }

    pub(crate) async fn self_register(
        &self,
        ctx: &CallContext,
        c: SelfRegister,
    ) -> Result<Reply, Problem> {
        let username = checked_username(&c.username)?;
        if c.profession.is_emergency_or_police() {
            // Fire and police join through their municipality, not a public link.
            return Err(Invalid::new("/profession", "this profession joins by invitation").into());
        }
        let now = self.clock.now();
        let Some(municipality) = self
            .credentials
            .join_link(&c.link_token, now)
            .await
            .map_err(store_failed)?
        else {
            return Err(Problem::invalid_field(
                "/link_token",
                "unknown or expired link",
            ));
        };
        let member_id = Uuid::now_v7();
        let event = one_event(member::decide(
            None,
            MemberCommand::SelfRegister {
                member_id: member_id.to_string(),
                name: c.name,
                name_kana: c.name_kana,
                profession: c.profession,
                municipality: municipality.clone(),
            },
        ))?;
        let hash = new_password_hash(&c.password).await?;
        if self
            .credentials
            .create_account(member_id, &username, &hash, now)
            .await
            .map_err(store_failed)?
            .is_err()
        {
            return Err(
                Problem::conflict("username-taken", "choose another username")
                    .with_field("/username", "taken"),
            );
        }
        let position = self
            .append_as(
                ctx,
                MEMBER,
                &member_id.to_string(),
                ExpectedVersion::NoStream,
                event,
                Self::member_scope(&municipality),
            )
            .await?;
        let enrolment = self.start_second_factor(member_id, &username, now).await?;
        Ok(Reply::written(enrolment, position))
    }

    pub(crate) async fn verify_member(
        &self,
        ctx: &CallContext,
        c: VerifyMember,
    ) -> Result<Reply, Problem> {
        if Uuid::parse_str(&c.member_id).is_err() {
            return Err(Problem::not_found("no such member"));
        }
        let (state, version) = self.load_member(&c.member_id).await?;
        let Some(member) = state else {
            return Err(Problem::not_found("no such member"));
        };
        self.may_verify(ctx, &member.municipality)
            .map_err(|refusal| as_if_absent(ctx, &member.municipality, refusal))?;
        let event = one_event(member::decide(Some(&member), MemberCommand::Verify))?;
        let position = self
            .append_member(ctx, &c.member_id, version, event, &member.municipality)
            .await?;
        Ok(Reply::written(
            serde_json::json!({ "member_id": c.member_id }),
            position,
        ))
    }

    pub(crate) async fn register_integrator(
        &self,
        ctx: &CallContext,
        c: RegisterIntegrator,
    ) -> Result<Reply, Problem> {
        let operator = ctx.actor == "operator:bootstrap"
            || ctx.caller.as_ref().is_some_and(|c| {
                permissions::decide(subject(c), Action::ManageIntegrators, &[]).is_allowed()
            });
        if !operator {
            return Err(Problem::forbidden(
                "only the operator registers integrators",
            ));
        }
        let name = crate::domain::normalised_name("/name", &c.name)?;
        let client_id = Uuid::now_v7();
        let now = self.clock.now();
        let secret = self
            .credentials
            .create_client(client_id, now)
            .await
            .map_err(store_failed)?;
        let scope = Scope {
            visibility: Visibility::Region,
            municipality: None,
        };
        let event = IdentityEvent::IntegratorRegistered {
            client_id: client_id.to_string(),
            name,
        };
        let position = self
            .append_as(
                ctx,
                "integrator",
                &client_id.to_string(),
                ExpectedVersion::NoStream,
                event,
                scope,
            )
            .await?;
        Ok(Reply::written(
            IntegratorCredentials {
                client_id: client_id.to_string(),
                client_secret: secret,
            },
            position,
        ))
    }

    pub(crate) async fn client_token(&self, c: ClientCredentials) -> Result<Reply, Problem> {
        if c.grant_type != "client_credentials" {
            return Err(
                Problem::new(400, "unsupported-grant-type", "Unsupported grant type")
                    .with_field("/grant_type", "only client_credentials is supported"),
            );
        }
        let refused = || Problem::unauthenticated("the client id or secret is wrong");
        let client_id = Uuid::parse_str(&c.client_id).map_err(|_| refused())?;
        if !self
            .credentials
            .client_valid(client_id, &c.client_secret)
            .await
            .map_err(store_failed)?
        {
            return Err(refused());
        }
        let now = self.clock.now();
        let key = self
            .credentials
            .signing_key(now)
            .await
            .map_err(store_failed)?;
        let access_token = self.sign_access(
            &key,
            AccessClaims {
                sub: client_id.to_string(),
                sid: Uuid::now_v7().to_string(),
                roles: vec![permissions::Role::Integrator.as_str().to_owned()],
                amr: vec!["client_secret".to_owned()],
                ..Default::default()
            },
        )?;
        Ok(Reply::value(ClientToken {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: self.tokens.access_ttl.num_seconds(),
        }))
    }

    /// A page of one municipality's members: for its secretariat and the operator only, so
    /// no municipality reads another's staff.
    pub(crate) async fn list_members(
        &self,
        ctx: &CallContext,
        q: ListMembers,
        limit: i64,
    ) -> Result<Reply, Problem> {
        let code = crate::domain::municipality::parse_code("/municipality", &q.municipality)?;
        if let Some(after) = &q.after
            && Uuid::parse_str(after).is_err()
        {
            return Err(Invalid::new("/after", "a member id (UUID)").into());
        }
        let allowed = ctx.actor == "operator:bootstrap"
            || ctx.caller.as_ref().is_some_and(|c| {
                let ties: &[Relationship] = if c.municipality.as_deref() == Some(code.as_str()) {
                    &[Relationship::OwnMunicipality]
                } else {
                    &[]
                };
                permissions::decide(subject(c), Action::ManageMembersOfMunicipality, ties)
                    .is_allowed()
            });
        if !allowed {
            return Err(Problem::forbidden(
                "only the municipality's secretariat lists its members",
            ));
        }
        self.settled().await?;
        let page = crate::queries::members_of(&self.pool, code.as_str(), q.after.as_deref(), limit)
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        Ok(Reply::value(page))
    }

    pub(crate) async fn get_member(
        &self,
        ctx: &CallContext,
        q: GetMember,
    ) -> Result<Reply, Problem> {
        let member_id = match (q.member_id, &ctx.caller) {
            (Some(id), _) => id,
            (None, Some(caller)) => caller.member_id.clone(),
            (None, None) => return Err(Problem::unauthenticated("sign in first")),
        };
        if Uuid::parse_str(&member_id).is_err() {
            return Err(Problem::not_found("no such member"));
        }
        let own = ctx
            .caller
            .as_ref()
            .is_some_and(|c| c.member_id == member_id);
        let view = crate::queries::member(&self.pool, &member_id)
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        let Some(view) = view else {
            return Err(Problem::not_found("no such member"));
        };
        if !own {
            self.may_manage_members(ctx, &view.municipality, &view.sites)
                .await
                .map_err(|_| Problem::not_found("no such member"))?;
        }
        Ok(Reply::value(view))
    }

    pub(crate) async fn rotate_signing_key(&self, ctx: &CallContext) -> Result<Reply, Problem> {
        let allowed = ctx.actor == "operator:bootstrap"
            || ctx.caller.as_ref().is_some_and(|c| {
                permissions::decide(subject(c), Action::RotateSigningKeys, &[]).is_allowed()
            });
        if !allowed {
            return Err(Problem::forbidden("only the operator rotates signing keys"));
        }
        let key = self
            .credentials
            .rotate_key(self.clock.now())
            .await
            .map_err(store_failed)?;
        let kid = key.kid().to_owned();
        let scope = Scope {
            visibility: Visibility::Region,
            municipality: None,
        };
        let event = IdentityEvent::SigningKeyRotated { kid: kid.clone() };
        let position = self
            .append_as(
                ctx,
                "signing_keys",
                "region",
                ExpectedVersion::Any,
                event,
                scope,
            )
            .await?;
        Ok(Reply::written(KeyRotated { kid }, position))
    }

    pub(crate) async fn jwks(&self) -> Result<Reply, Problem> {
        let now = self.clock.now();
        // Make sure a key exists before anyone asks to verify with it.
        self.credentials
            .signing_key(now)
            .await
            .map_err(store_failed)?;
        let keep = self.tokens.access_ttl * 2;
        Ok(Reply::value(
            self.credentials
                .jwks(now, keep)
                .await
                .map_err(store_failed)?,
        ))
    }
}
