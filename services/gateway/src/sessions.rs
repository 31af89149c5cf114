//! Signed-in members: access tokens verified against the identity service's JWKS, and a
//! view of revocations learnt from identity's events (the gateway reads no database).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bus::{BusClient, CallContext, Reply};
use clock::SharedClock;
use event_store::JetStreamStore;
use futures::StreamExt;
use identity_api::events::IdentityEvent;
use permissions::{Caller, Profession, Role, Subject};
use tokens::{AccessClaims, Jwks, TokenError, Verifier};

/// Verifies access tokens; refreshes the keys from the identity service when a token
/// names a key it does not know yet (rotation), at most once a second.
pub struct TokenKeys {
    bus: BusClient,
    issuer: String,
    audience: String,
    verifier: RwLock<(Verifier, Instant)>,
    verified: VerifiedTokens,
}

/// Tokens already verified, so a signature is checked once per token rather than once per
/// request. Only times are checked again on a hit; revocation is checked by the caller on
/// every request, cached or not.
pub struct VerifiedTokens {
    capacity: usize,
    tokens: RwLock<HashMap<String, AccessClaims>>,
}

impl VerifiedTokens {
    /// Keeps at most `capacity` tokens; past it the cache starts over (a burst of new
    /// sessions costs one signature check each, nothing more).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            tokens: RwLock::new(HashMap::new()),
        }
    }

    /// The claims of `token` if it was verified before: `None` when unknown, an error when
    /// it has expired (or is not valid yet) at `now`.
    pub fn get(&self, token: &str, now: i64) -> Option<Result<AccessClaims, TokenError>> {
        let claims = self
            .tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()?;
        Some(tokens::check_times(&claims, now).map(|()| claims))
    }

    /// Remembers a token whose signature and claims were verified.
    pub fn insert(&self, token: &str, claims: AccessClaims) {
        let mut tokens = self.tokens.write().unwrap_or_else(|e| e.into_inner());
        if tokens.len() >= self.capacity {
            tokens.clear();
        }
        tokens.insert(token.to_owned(), claims);
    }
}

impl TokenKeys {
    pub fn new(bus: BusClient, issuer: String, audience: String) -> Self {
        let empty = Verifier::new(&Jwks::default(), issuer.clone(), audience.clone());
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(60))
            .unwrap_or_else(Instant::now);
        Self {
            bus,
            issuer,
            audience,
            verifier: RwLock::new((empty, long_ago)),
            verified: VerifiedTokens::new(50_000),
        }
    }

    async fn refresh(&self) {
        {
            let guard = self.verifier.read().unwrap_or_else(|e| e.into_inner());
            if guard.1.elapsed() < Duration::from_secs(1) {
                return;
            }
        }
        let reply = self
            .bus
            .call(
                identity_api::SERVICE,
                identity_api::members::endpoints::JWKS,
                &CallContext::new("gateway"),
                &serde_json::json!({}),
            )
            .await;
        let mut guard = self.verifier.write().unwrap_or_else(|e| e.into_inner());
        guard.1 = Instant::now();
        if let Reply::Ok { value, .. } = reply
            && let Ok(jwks) = serde_json::from_value::<Jwks>(value)
        {
            guard.0 = Verifier::new(&jwks, self.issuer.clone(), self.audience.clone());
        }
    }

    /// Verifies a token at `now` (Unix seconds).
    pub async fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        if let Some(known) = self.verified.get(token, now) {
            return known;
        }
        let claims = self.verify_signature(token, now).await?;
        self.verified.insert(token, claims.clone());
        Ok(claims)
    }

    async fn verify_signature(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        let first = self
            .verifier
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .verify(token, now);
        match first {
            Err(TokenError::UnknownKey) => {
                self.refresh().await;
                self.verifier
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .0
                    .verify(token, now)
            }
            other => other,
        }
    }
}

/// Sessions and members whose tokens must no longer pass, until those tokens expire.
#[derive(Default)]
pub struct Revocations {
    sessions: RwLock<HashMap<String, i64>>,
    members: RwLock<HashMap<String, i64>>,
}

impl Revocations {
    /// A token is refused when its session was revoked, or when it was issued before its
    /// member's credentials were reset or the member left.
    pub fn is_revoked(&self, claims: &AccessClaims) -> bool {
        let session = self
            .sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&claims.sid);
        let member = self
            .members
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&claims.sub)
            .is_some_and(|at| claims.iat <= *at);
        session || member
    }

    fn revoke_session(&self, session_id: String, at: i64) {
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(session_id, at);
    }

    fn revoke_member(&self, member_id: String, at: i64) {
        self.members
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(member_id, at);
    }

    /// Forgets revocations older than any token that could still be alive.
    fn forget_before(&self, cutoff: i64) {
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, at| *at >= cutoff);
        self.members
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, at| *at >= cutoff);
    }
}

/// Follows identity's member events and keeps [`Revocations`] current. Starts an hour
/// back: no access token lives longer, so nothing older can matter.
pub async fn follow_revocations(
    store: JetStreamStore,
    revocations: Arc<Revocations>,
    clock: SharedClock,
) {
    let window = chrono::Duration::hours(1);
    loop {
        let since = clock.now() - window;
        let filters = vec![
            store.aggregate_type_filter(identity_api::CONTEXT, identity_api::members::MEMBER),
            store.aggregate_type_filter(identity_api::CONTEXT, "member_session"),
        ];
        match store
            .subscribe_since(identity_api::CONTEXT, filters, since)
            .await
        {
            Ok(mut sub) => {
                while let Some(delivered) = sub.next().await {
                    let Ok(delivered) = delivered else { break };
                    let Ok(env) = delivered.envelope else {
                        continue;
                    };
                    let at = env.occurred_at.timestamp();
                    use event_store::EventContract as _;
                    match IdentityEvent::decode(&env.event_type, env.schema_version, env.payload) {
                        // A role change revokes like leaving does: a token issued before it
                        // carries roles the member may no longer hold. Refresh and sign-in
                        // read the member's current roles, so the next token is right.
                        Ok(IdentityEvent::MemberDeactivated { member_id, .. })
                        | Ok(IdentityEvent::CredentialsReset { member_id, .. })
                        | Ok(IdentityEvent::MemberRolesChanged { member_id, .. }) => {
                            revocations.revoke_member(member_id, at)
                        }
                        Ok(IdentityEvent::SessionRevoked { session_id, .. }) => {
                            revocations.revoke_session(session_id, at)
                        }
                        _ => {}
                    }
                    revocations.forget_before((clock.now() - window).timestamp());
                }
            }
            Err(error) => tracing::warn!(%error, "cannot follow revocations yet; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The caller as the services see it, from verified claims. Unknown role or profession
/// names refuse the token: a token the gateway cannot read fully grants nothing.
pub fn caller_of(claims: &AccessClaims) -> Option<Caller> {
    fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
    let roles: Option<Vec<Role>> = claims.roles.iter().map(|r| parse(r)).collect();
    let profession: Option<Profession> = match &claims.profession {
        Some(p) => Some(parse(p)?),
        None => None,
    };
    Some(Caller {
        member_id: claims.sub.clone(),
        session_id: claims.sid.clone(),
        subject: Subject {
            roles: roles?,
            profession,
        },
        sites: claims.sites.clone(),
        municipality: claims.municipality.clone(),
    })
}

/// Failed sign-ins per client address: after `limit` failures within `window`, further
/// attempts from that address are refused before they reach the identity service (a
/// password-guessing brake on top of the per-account lock-out).
pub struct FailedSignIns {
    limit: u32,
    window: Duration,
    seen: std::sync::Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
}

impl FailedSignIns {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            seen: Default::default(),
        }
    }

    /// Seconds to wait, when the address has failed too often.
    pub fn retry_after(&self, addr: std::net::IpAddr) -> Option<u64> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let (since, count) = seen.get(&addr)?;
        let elapsed = since.elapsed();
        (*count >= self.limit && elapsed < self.window)
            .then(|| (self.window - elapsed).as_secs().max(1))
    }

    /// Counts one failure of the address.
    pub fn failed(&self, addr: std::net::IpAddr) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 100_000 {
            // Bounded memory: forget addresses whose window has passed.
            let window = self.window;
            seen.retain(|_, (since, _)| since.elapsed() < window);
        }
        let entry = seen.entry(addr).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            sub: "m-1".into(),
            nbf: exp - 900,
            iat: exp - 900,
            exp,
            typ: tokens::ACCESS.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_cached_token_stops_passing_when_it_expires() {
        let cache = VerifiedTokens::new(10);
        cache.insert("t", claims(1_000));
        assert!(matches!(cache.get("t", 1_000), Some(Ok(_))));
        let leeway = tokens::LEEWAY_SECONDS as i64;
        assert!(matches!(
            cache.get("t", 1_000 + leeway + 1),
            Some(Err(TokenError::Expired))
        ));
        assert!(cache.get("other", 1_000).is_none());
    }

    #[test]
    fn a_full_cache_starts_over_rather_than_grow() {
        let cache = VerifiedTokens::new(2);
        cache.insert("a", claims(1_000));
        cache.insert("b", claims(1_000));
        cache.insert("c", claims(1_000));
        assert!(cache.get("a", 500).is_none());
        assert!(cache.get("c", 500).is_some());
    }
}
