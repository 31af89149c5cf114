//! The gateway refuses forged and broken access tokens, end to end with the real binaries.
//!
//! A nurse signs in for a genuine token; the real `kid` and public key come from the
//! published JWKS (`/.well-known/jwks.json`) and the real claims from the token itself. Each
//! forgery then differs from the genuine token in one way only. Where a forgery carries an
//! EdDSA signature by "the real key", that is the identity service's own signing key, read
//! from its credential store as only a thief could: so the one fault is what the gateway
//! must catch, not a bad signature. Before any forgery is sent, the genuine token, the real
//! claims re-signed with the real key (`tokens::SigningKey`) and rebuilt by hand here all
//! answer 200, so a refusal below means the gateway saw the fault.
//!
//! Every forgery is sent as `Authorization: Bearer` to routes that need a member
//! (`GET /api/v1/me`, `/api/v1/sites`, `/api/v1/sites/{id}`), and each answer must be 401
//! with problem details (`application/problem+json`, `status` 401, a `type`, a `detail`)
//! and `WWW-Authenticate: Bearer`. The services run on an injected clock
//! (`TSUNAGU_CLOCK_START`), so times are computed from the genuine token's `iat`, never from
//! the wall clock. A test lists every forgery not refused properly, not only the first.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use credentials::sealed::SealingKey;
use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::Signer as _;
use hmac::{Hmac, Mac};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use sha2::Sha256;
use testkit::Platform;
use tokens::{AccessClaims, LEEWAY_SECONDS, SigningKey};
use tsunagu_tests::accounts::{Account, PASSWORD, join, send, sign_in, site, start};

/// How far beyond the leeway the time forgeries lie: far more than the services' clocks
/// can differ from one another or drift during a test.
const WELL_BEYOND: i64 = 300;

/// How a hand-built token is signed.
enum Signature<'a> {
    /// No signature at all (`alg: none`).
    Unsigned,
    /// HMAC-SHA256 with this key.
    Hs256(&'a [u8]),
    /// Ed25519 with this seed.
    Ed25519(&'a [u8; 32]),
}

fn part(value: &Value) -> String {
    BASE64URL_NOPAD.encode(value.to_string().as_bytes())
}

/// A JWT built by hand: base64url header and payload, then the signature, so nothing
/// about it depends on the library under test.
fn jwt(header: &Value, claims: &Value, signature: Signature<'_>) -> String {
    let input = format!("{}.{}", part(header), part(claims));
    let signature = match signature {
        Signature::Unsigned => Vec::new(),
        Signature::Hs256(key) => {
            // HMAC takes a key of any length.
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Signature::Ed25519(seed) => ed25519_dalek::SigningKey::from_bytes(seed)
            .sign(input.as_bytes())
            .to_bytes()
            .to_vec(),
    };
    format!("{input}.{}", BASE64URL_NOPAD.encode(&signature))
}

/// The JSON of one dot-separated part of a JWT.
fn decoded(token: &str, index: usize) -> anyhow::Result<Value> {
    let part = token
        .split('.')
        .nth(index)
        .context("a JWT has three parts")?;
    Ok(serde_json::from_slice(
        &BASE64URL_NOPAD.decode(part.as_bytes())?,
    )?)
}

/// `claims` with `changes` applied (a `null` change removes the claim).
fn with(claims: &Value, changes: Value) -> Value {
    let mut out = claims.clone();
    if let (Some(out), Some(changes)) = (out.as_object_mut(), changes.as_object()) {
        for (name, value) in changes {
            if value.is_null() {
                out.remove(name);
            } else {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    out
}

/// The seed of the identity service's signing key `kid`, from its credential store.
async fn stolen_seed(p: &Platform, kid: &str) -> anyhow::Result<[u8; 32]> {
    let (client, connection) = tokio_postgres::connect(&p.db.url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT sealed_seed FROM credentials.signing_keys WHERE kid = $1",
            &[&kid],
        )
        .await?;
    let sealed: Vec<u8> = row.get(0);
    let seed = SealingKey::from_hex(&p.credential_key)?.open(&sealed)?;
    seed.try_into()
        .map_err(|_| anyhow::anyhow!("a signing key's seed is 32 bytes"))
}

/// A signed-in nurse and everything a forger can learn: the genuine token and its parts,
/// the published key, and (for single-fault forgeries) the real signing key itself.
struct Scene {
    p: Platform,
    nurse: Account,
    site: String,
    access: String,
    refresh: String,
    header: Value,
    claims: Value,
    kid: String,
    /// The published public key, raw.
    public: Vec<u8>,
    /// The published public key as the JWKS writes it (base64url).
    x: String,
    seed: [u8; 32],
}

impl Scene {
    async fn new() -> anyhow::Result<Self> {
        let (p, clock) = start().await?;
        let site = site(&p, "医療法人 偽造", "偽造ステーション").await?;
        let nurse = join(
            &p,
            &clock,
            None,
            "hanako.forged",
            &["professional"],
            &[&site],
        )
        .await?;
        let (status, tokens) = sign_in(&p, &nurse, PASSWORD, &clock.code(&nurse.secret, 0)).await?;
        anyhow::ensure!(status == 201, "sign-in: {tokens}");
        let text = |name: &str| tokens[name].as_str().unwrap_or_default().to_owned();
        let (access, refresh) = (text("access_token"), text("refresh_token"));
        anyhow::ensure!(
            !refresh.is_empty(),
            "sign-in answers a refresh token: {tokens}"
        );
        let header = decoded(&access, 0)?;
        let claims = decoded(&access, 1)?;
        let kid = header["kid"].as_str().unwrap_or_default().to_owned();

        let (status, jwks) = send(p.http.get(p.url("/.well-known/jwks.json"))).await?;
        anyhow::ensure!(status == 200, "jwks: {jwks}");
        let jwk = jwks["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
            .with_context(|| format!("the token's kid {kid:?} is published: {jwks}"))?;
        let x = jwk["x"].as_str().unwrap_or_default().to_owned();
        let public = BASE64URL_NOPAD.decode(x.as_bytes())?;
        let seed = stolen_seed(&p, &kid).await?;
        anyhow::ensure!(
            ed25519_dalek::SigningKey::from_bytes(&seed)
                .verifying_key()
                .as_bytes()
                == public.as_slice(),
            "the key read from the credential store is the published one"
        );

        let scene = Self {
            p,
            nurse,
            site,
            access,
            refresh,
            header,
            claims,
            kid,
            public,
            x,
            seed,
        };
        // Controls: without them, every refusal below could be a refusal of everything.
        scene.accepted("the genuine token", &scene.access).await?;
        let claims: AccessClaims = serde_json::from_value(scene.claims.clone())?;
        let resigned = SigningKey::from_seed(scene.kid.clone(), scene.seed).sign(&claims)?;
        scene
            .accepted("the real claims signed again by the real key", &resigned)
            .await?;
        scene
            .accepted(
                "the real header and claims signed by hand with the real key",
                &scene.by_real_key(&scene.claims),
            )
            .await?;
        Ok(scene)
    }

    fn routes(&self) -> [String; 3] {
        [
            "/api/v1/me".to_owned(),
            "/api/v1/sites".to_owned(),
            format!("/api/v1/sites/{}", self.site),
        ]
    }

    fn claim(&self, name: &str) -> i64 {
        self.claims[name].as_i64().unwrap_or_default()
    }

    /// `claims` under the real header, signed by the real key.
    fn by_real_key(&self, claims: &Value) -> String {
        jwt(&self.header, claims, Signature::Ed25519(&self.seed))
    }

    /// The real claims with `changes`, signed by the real key: a single-fault forgery.
    fn real_key_with(&self, changes: Value) -> String {
        self.by_real_key(&with(&self.claims, changes))
    }

    /// The real claims under a header with `changes`, signed by `signature`.
    fn header_with(&self, changes: Value, signature: Signature<'_>) -> String {
        jwt(&with(&self.header, changes), &self.claims, signature)
    }

    /// The real claims as the typed claims `tokens::SigningKey` signs.
    fn typed_claims(&self) -> anyhow::Result<AccessClaims> {
        Ok(serde_json::from_value(self.claims.clone())?)
    }

    async fn get(
        &self,
        path: &str,
        authorization: Option<&str>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut request = self.p.http.request(Method::GET, self.p.url(path));
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        Ok(request.send().await?)
    }

    /// Every member route answers `token` with 200.
    async fn accepted(&self, case: &str, token: &str) -> anyhow::Result<()> {
        for path in self.routes() {
            let (status, body) =
                send(self.p.http.get(self.p.url(&path)).bearer_auth(token)).await?;
            anyhow::ensure!(
                status == 200,
                "{case}: GET {path} answers {status}, not 200: {body}\n--- gateway ---\n{}",
                self.p.gateway.log_tail(20)
            );
        }
        Ok(())
    }

    /// Sends `token` as a bearer token to every member route; answers what was wrong with
    /// each answer that is not a proper refusal (empty when all were).
    async fn refused(&self, case: &str, token: &str) -> anyhow::Result<Vec<String>> {
        self.refused_with(case, Some(&format!("Bearer {token}")))
            .await
    }

    /// As [`Scene::refused`], with the whole `Authorization` header (or none).
    async fn refused_with(
        &self,
        case: &str,
        authorization: Option<&str>,
    ) -> anyhow::Result<Vec<String>> {
        let mut faults = Vec::new();
        for path in self.routes() {
            let response = self.get(&path, authorization).await?;
            let status = response.status().as_u16();
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let (content_type, challenge) = (header(CONTENT_TYPE), header(WWW_AUTHENTICATE));
            let body: Value =
                serde_json::from_slice(&response.bytes().await?).unwrap_or(Value::Null);
            let non_empty = |name: &str| body[name].as_str().is_some_and(|s| !s.is_empty());
            let mut wrong = Vec::new();
            if status != 401 {
                wrong.push(format!("status {status}"));
            }
            if !content_type.starts_with("application/problem+json") {
                wrong.push(format!("content-type {content_type:?}"));
            }
            if !challenge.starts_with("Bearer") {
                wrong.push(format!("www-authenticate {challenge:?}"));
            }
            if body["status"] != 401 || !non_empty("type") || !non_empty("detail") {
                wrong.push("no problem details with status 401, a type and a detail".to_owned());
            }
            if !wrong.is_empty() {
                faults.push(format!(
                    "{case}: GET {path}: {} (body {body})",
                    wrong.join(", ")
                ));
            }
        }
        Ok(faults)
    }

    /// Fails, listing every forgery the gateway did not refuse properly; otherwise checks
    /// that the genuine token still passes.
    async fn all_refused(&self, faults: Vec<String>) -> anyhow::Result<()> {
        assert!(
            faults.is_empty(),
            "forgeries not refused with 401 and problem details:\n{}\n--- gateway ---\n{}",
            faults.join("\n"),
            self.p.gateway.log_tail(20)
        );
        self.accepted("the genuine token, after the forgeries", &self.access)
            .await
    }
}

#[tokio::test]
async fn unsigned_tokens_and_tokens_hmac_signed_with_the_public_key_are_refused()
-> anyhow::Result<()> {
    let s = Scene::new().await?;
    let kid = s.kid.as_str();
    let cases = [
        (
            "alg none, unsigned",
            s.header_with(json!({ "alg": "none" }), Signature::Unsigned),
        ),
        (
            "alg None, unsigned",
            s.header_with(json!({ "alg": "None" }), Signature::Unsigned),
        ),
        (
            "alg none without a kid, unsigned",
            jwt(
                &json!({ "alg": "none", "typ": "JWT" }),
                &s.claims,
                Signature::Unsigned,
            ),
        ),
        (
            "alg none, with the real key's signature kept",
            s.header_with(json!({ "alg": "none" }), Signature::Ed25519(&s.seed)),
        ),
        (
            "HS256 with the public key's 32 raw bytes as the HMAC key",
            s.header_with(
                json!({ "alg": "HS256", "kid": kid }),
                Signature::Hs256(&s.public),
            ),
        ),
        (
            "HS256 with the JWKS's base64url x as the HMAC key",
            s.header_with(
                json!({ "alg": "HS256", "kid": kid }),
                Signature::Hs256(s.x.as_bytes()),
            ),
        ),
    ];
    let mut faults = Vec::new();
    for (case, token) in &cases {
        faults.extend(s.refused(case, token).await?);
    }
    s.all_refused(faults).await
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_the_real_kid_is_refused() -> anyhow::Result<()> {
    let s = Scene::new().await?;
    let other = SigningKey::generate(s.kid.clone());
    let claims = s.typed_claims()?;
    let refresh = AccessClaims {
        typ: "refresh".to_owned(),
        ..claims.clone()
    };
    let cases = [
        (
            "the real claims signed by another key under the real kid",
            other.sign(&claims)?,
        ),
        (
            "typ refresh, signed by another key under the real kid",
            other.sign(&refresh)?,
        ),
    ];
    let mut faults = Vec::new();
    for (case, token) in &cases {
        faults.extend(s.refused(case, token).await?);
    }
    s.all_refused(faults).await
}

#[tokio::test]
async fn tokens_expired_or_not_yet_valid_beyond_the_leeway_are_refused() -> anyhow::Result<()> {
    let s = Scene::new().await?;
    let leeway = LEEWAY_SECONDS as i64;
    let (iat, exp) = (s.claim("iat"), s.claim("exp"));
    let lifetime = exp - iat;
    // Issued and expired before the genuine token was issued; the services' clocks can only
    // have moved on since.
    let expired_at = iat - leeway - WELL_BEYOND;
    let expired =
        json!({ "iat": expired_at - lifetime, "nbf": expired_at - lifetime, "exp": expired_at });
    // Valid only from well after now.
    let valid_from = iat + leeway + WELL_BEYOND;
    let early = json!({ "iat": iat, "nbf": valid_from, "exp": valid_from + lifetime });
    let cases = [
        (
            "expired beyond the leeway, signed by the real key",
            s.real_key_with(expired),
        ),
        (
            "nbf in the future beyond the leeway, signed by the real key",
            s.real_key_with(early),
        ),
    ];
    let mut faults = Vec::new();
    for (case, token) in &cases {
        faults.extend(s.refused(case, token).await?);
    }
    s.all_refused(faults).await
}

#[tokio::test]
async fn times_sent_as_strings_and_missing_required_claims_are_refused() -> anyhow::Result<()> {
    let s = Scene::new().await?;
    let leeway = LEEWAY_SECONDS as i64;
    let (iat, nbf, exp) = (s.claim("iat"), s.claim("nbf"), s.claim("exp"));
    let long_expired = (iat - leeway - WELL_BEYOND).to_string();
    let far_future = (iat + leeway + WELL_BEYOND).to_string();
    let mut cases = vec![
        (
            "exp as a string (its genuine value)".to_owned(),
            s.real_key_with(json!({ "exp": exp.to_string() })),
        ),
        (
            "exp as a string, long expired".to_owned(),
            s.real_key_with(json!({ "exp": long_expired })),
        ),
        (
            "nbf as a string (its genuine value)".to_owned(),
            s.real_key_with(json!({ "nbf": nbf.to_string() })),
        ),
        (
            "nbf as a string, far in the future".to_owned(),
            s.real_key_with(json!({ "nbf": far_future })),
        ),
        (
            "exp and nbf both strings".to_owned(),
            s.real_key_with(json!({ "exp": exp.to_string(), "nbf": nbf.to_string() })),
        ),
    ];
    for claim in ["exp", "nbf", "iss", "aud", "sub", "typ"] {
        let mut without = s.claims.clone();
        if let Some(claims) = without.as_object_mut() {
            claims.remove(claim);
        }
        cases.push((format!("no {claim} claim"), s.by_real_key(&without)));
    }
    let mut faults = Vec::new();
    for (case, token) in &cases {
        faults.extend(s.refused(case, token).await?);
    }
    s.all_refused(faults).await
}

#[tokio::test]
async fn a_wrong_issuer_audience_or_token_type_is_refused() -> anyhow::Result<()> {
    let s = Scene::new().await?;
    let iss = s.claims["iss"].as_str().unwrap_or_default();
    let aud = s.claims["aud"].as_str().unwrap_or_default();
    let cases = [
        (
            "iss of another issuer",
            s.real_key_with(json!({ "iss": "https://evil.example" })),
        ),
        (
            "iss with a trailing slash",
            s.real_key_with(json!({ "iss": format!("{iss}/") })),
        ),
        ("iss empty", s.real_key_with(json!({ "iss": "" }))),
        (
            "aud of another API",
            s.real_key_with(json!({ "aud": "another-api" })),
        ),
        (
            "aud with a suffix",
            s.real_key_with(json!({ "aud": format!("{aud}-admin") })),
        ),
        ("aud empty", s.real_key_with(json!({ "aud": "" }))),
        ("typ refresh", s.real_key_with(json!({ "typ": "refresh" }))),
        ("typ empty", s.real_key_with(json!({ "typ": "" }))),
    ];
    let mut faults = Vec::new();
    for (case, token) in &cases {
        faults.extend(
            s.refused(&format!("{case}, signed by the real key"), token)
                .await?,
        );
    }
    s.all_refused(faults).await
}

#[tokio::test]
async fn unknown_kids_and_kids_with_path_characters_are_refused() -> anyhow::Result<()> {
    let s = Scene::new().await?;
    let kid = s.kid.as_str();
    let real = Signature::Ed25519;
    let cases = [
        (
            "an unknown kid, signed by its own key",
            SigningKey::generate("20260101000000-unknown1").sign(&s.typed_claims()?)?,
        ),
        (
            "an unknown kid, signed by the real key",
            s.header_with(json!({ "kid": "20260101000000-unknown1" }), real(&s.seed)),
        ),
        (
            "no kid, signed by the real key",
            s.header_with(json!({ "kid": null }), real(&s.seed)),
        ),
        (
            "kid ../../etc/passwd, signed by the real key",
            s.header_with(json!({ "kid": "../../etc/passwd" }), real(&s.seed)),
        ),
        (
            "kid ../<real kid>, signed by the real key",
            s.header_with(json!({ "kid": format!("../{kid}") }), real(&s.seed)),
        ),
        (
            "kid <real kid>/../<real kid>, signed by the real key",
            s.header_with(json!({ "kid": format!("{kid}/../{kid}") }), real(&s.seed)),
        ),
        (
            "kid /dev/null, signed by the real key",
            s.header_with(json!({ "kid": "/dev/null" }), real(&s.seed)),
        ),
    ];
    let mut faults = Vec::new();
    for (case, token) in &cases {
        faults.extend(s.refused(case, token).await?);
    }
    s.all_refused(faults).await
}

/// A key server a forger controls: it serves the forger's JWKS at any path and counts
/// every request it gets.
async fn forgers_key_server(key: &SigningKey) -> anyhow::Result<(String, Arc<AtomicUsize>)> {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let jwks = json!({ "keys": [key.public_jwk()] });
    let app = axum::Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        let jwks = jwks.clone();
        async move { axum::Json(jwks) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, hits))
}

#[tokio::test]
async fn jku_and_x5u_headers_are_refused_and_never_fetched() -> anyhow::Result<()> {
    let s = Scene::new().await?;
    let forger = SigningKey::generate("forger-1");
    let forger_seed = *forger.seed();
    let (server, hits) = forgers_key_server(&forger).await?;
    let jku = format!("{server}/.well-known/jwks.json");
    let x5u = format!("{server}/cert.pem");
    let cases = [
        (
            "jku at the forger's JWKS, the forger's kid and key",
            s.header_with(
                json!({ "kid": "forger-1", "jku": jku }),
                Signature::Ed25519(&forger_seed),
            ),
        ),
        (
            "jku at the forger's JWKS, the real kid, the forger's key",
            s.header_with(json!({ "jku": jku }), Signature::Ed25519(&forger_seed)),
        ),
        (
            "jku at the forger's JWKS, signed by the real key",
            s.header_with(json!({ "jku": jku }), Signature::Ed25519(&s.seed)),
        ),
        (
            "x5u at the forger's server, the forger's kid and key",
            s.header_with(
                json!({ "kid": "forger-1", "x5u": x5u }),
                Signature::Ed25519(&forger_seed),
            ),
        ),
        (
            "x5u at the forger's server, signed by the real key",
            s.header_with(json!({ "x5u": x5u }), Signature::Ed25519(&s.seed)),
        ),
    ];
    let mut faults = Vec::new();
    for (case, token) in &cases {
        faults.extend(s.refused(case, token).await?);
    }
    // A fetch started in the background would show up shortly after the answers.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fetched = hits.load(Ordering::SeqCst);
    if fetched > 0 {
        faults.push(format!(
            "the gateway fetched from the forger's server {fetched} times"
        ));
    }
    s.all_refused(faults).await
}

#[tokio::test]
async fn a_refresh_token_a_tampered_signature_garbage_and_an_empty_bearer_are_refused()
-> anyhow::Result<()> {
    let s = Scene::new().await?;
    let access = s.access.as_str();
    let (unsigned, signature) = access.rsplit_once('.').unwrap_or((access, ""));
    let mut altered = signature.as_bytes().to_vec();
    altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
    let altered = format!("{unsigned}.{}", String::from_utf8_lossy(&altered));
    // The genuine token is verified (and may be cached) by now: its signature must not
    // vouch for other claims.
    let operator = with(&s.claims, json!({ "roles": ["operator"] }));
    let genuine_header = access.split('.').next().unwrap_or_default();
    let borrowed = format!("{genuine_header}.{}.{signature}", part(&operator));
    let cases = [
        ("the refresh token sign-in answered", s.refresh.clone()),
        (
            "the signature cut short by 8 characters",
            access[..access.len() - 8].to_owned(),
        ),
        (
            "the signature cut to half",
            access[..access.len() - signature.len() / 2].to_owned(),
        ),
        (
            "the signature removed, the dot kept",
            format!("{unsigned}."),
        ),
        ("the signature removed with its dot", unsigned.to_owned()),
        ("the signature's first character changed", altered),
        (
            "the genuine signature on claims naming the operator role",
            borrowed,
        ),
        ("garbage", "garbage".to_owned()),
        ("three dots of garbage", "a.b.c".to_owned()),
        ("only dots", "..".to_owned()),
        ("the token twice", format!("{access}{access}")),
    ];
    let mut faults = Vec::new();
    for (case, token) in &cases {
        faults.extend(s.refused(case, token).await?);
    }
    for (case, authorization) in [
        ("an empty bearer", Some("Bearer ")),
        ("an empty bearer of spaces", Some("Bearer    ")),
        ("the scheme alone", Some("Bearer")),
        ("no Authorization header", None),
    ] {
        faults.extend(s.refused_with(case, authorization).await?);
    }
    s.all_refused(faults).await
}

#[tokio::test]
async fn the_token_of_a_deactivated_member_is_refused_within_seconds() -> anyhow::Result<()> {
    let s = Scene::new().await?;
    let (status, body) = send(
        s.p.operator(
            Method::POST,
            &format!("/api/v1/members/{}/deactivation", s.nurse.member_id),
        )
        .json(&json!({ "reason": "left the station" })),
    )
    .await?;
    assert_eq!(status, 200, "deactivation: {body}");
    // Revocation reaches the gateway as an event: poll, with a deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let faults = s
            .refused("the deactivated member's token", &s.access)
            .await?;
        if faults.is_empty() {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "still not refused 10 s after the deactivation:\n{}\n--- gateway ---\n{}",
            faults.join("\n"),
            s.p.gateway.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
