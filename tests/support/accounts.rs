//! Members for scenarios: a municipality with a site, invited members who activate, enrol
//! their second factor and sign in, with codes computed from the clock injected into the
//! services (`TSUNAGU_CLOCK_START`).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use credentials::totp::{STEP, TotpSecret};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use testkit::{Platform, json};

pub const START: &str = "2026-10-01T09:00:00+09:00";
pub const IZUMO: &str = "322032";
pub const PASSWORD: &str = "tsunagu-demo-password";

/// The services' clock, as the test sees it. The services started after `started`, so
/// their clocks lag ours by their start-up time, never lead it.
pub struct Clock {
    pub start: DateTime<Utc>,
    pub started: Instant,
}

impl Clock {
    pub fn now(&self) -> i64 {
        self.start.timestamp() + self.started.elapsed().as_secs() as i64
    }

    /// A code the services accept now and that no earlier code of ours used: the step
    /// before ours, for enrolment, then ours for sign-in (the services allow one step of
    /// drift either way, and their clock lags ours by less than a step).
    pub fn code(&self, secret: &TotpSecret, steps_back: i64) -> String {
        secret.code_at(self.now() - steps_back * STEP)
    }
}

pub async fn start() -> anyhow::Result<(Platform, Clock)> {
    start_with(&[]).await
}

/// Starts the platform on the injected clock with `extra` environment for every service.
pub async fn start_with(extra: &[(&str, &str)]) -> anyhow::Result<(Platform, Clock)> {
    let clock = Clock {
        start: DateTime::parse_from_rfc3339(START)?.with_timezone(&Utc),
        started: Instant::now(),
    };
    let mut env = vec![("TSUNAGU_CLOCK_START", START)];
    env.extend_from_slice(extra);
    let p = Platform::start_with(&env).await?;
    Ok((p, clock))
}

pub async fn send(request: RequestBuilder) -> anyhow::Result<(u16, Value)> {
    let (status, _, body) = json(request.send().await?).await?;
    Ok((status, body))
}

/// 出雲市, an organisation and a site of it; answers the site id.
pub async fn site(
    p: &Platform,
    organisation_name: &str,
    site_name: &str,
) -> anyhow::Result<String> {
    site_in(p, IZUMO, organisation_name, site_name).await
}

/// 横浜市's local government code.
pub const YOKOHAMA: &str = "141003";

/// Registers 出雲市 or 横浜市 (by `code`) if it is not yet; answers its name.
pub async fn municipality_named(p: &Platform, code: &str) -> anyhow::Result<&'static str> {
    let (name, kana) = if code == YOKOHAMA {
        ("横浜市", "ヨコハマシ")
    } else {
        ("出雲市", "イズモシ")
    };
    // Not an error here (201, or 409 when registered already, are the usual answers):
    // whatever is registered next in it fails, naming the municipality, if it is missing.
    // Anything else is printed, to be seen beside such a failure.
    let (status, answer) = send(
        p.operator(Method::POST, "/api/v1/municipalities")
            .json(&json!({ "code": code, "name": name, "name_kana": kana })),
    )
    .await?;
    if status != 201 && status != 409 {
        eprintln!("registering municipality {code} answered {status}: {answer}");
    }
    Ok(name)
}

/// A municipality (出雲市 or 横浜市, registered if it is not yet), an organisation and a
/// site of it; answers the site id.
pub async fn site_in(
    p: &Platform,
    municipality: &str,
    organisation_name: &str,
    site_name: &str,
) -> anyhow::Result<String> {
    let name = municipality_named(p, municipality).await?;
    let (status, org) = send(p.operator(Method::POST, "/api/v1/organisations").json(&json!({
        "name": organisation_name, "name_kana": "ホウジン", "kind": "medical_corporation", "home_municipality": municipality
    })))
    .await?;
    anyhow::ensure!(status == 201, "organisation: {org}");
    let org = org["organisation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, site) = send(p.operator(Method::POST, &format!("/api/v1/organisations/{org}/sites")).json(&json!({
        "name": site_name, "name_kana": "ジギョウショ", "kind": "home_visit_nursing_station",
        "service_types": ["13"], "home_municipality": municipality, "address": format!("{name}1"), "phone": "0853-00-0000"
    })))
    .await?;
    anyhow::ensure!(status == 201, "site: {site}");
    let site_id = site["site_id"].as_str().unwrap_or_default().to_owned();
    // Reads of the register are eventually consistent: wait, as a client would, until it
    // holds the site (and so the municipality and organisation before it), so that a later
    // reader who never wrote anything — an integrator, a member just signed in — finds them.
    let position = site["position"].as_str().unwrap_or_default();
    let (status, read) = send(
        p.operator(Method::GET, &format!("/api/v1/sites/{site_id}"))
            .header("Tsunagu-Min-Position", position),
    )
    .await?;
    anyhow::ensure!(status == 200, "reading the new site: {read}");
    Ok(site_id)
}

pub struct Account {
    pub member_id: String,
    pub username: String,
    pub secret: TotpSecret,
}

/// Invites (as `inviter`, or the operator), activates and enrols a nurse of 出雲市.
pub async fn join(
    p: &Platform,
    clock: &Clock,
    inviter: Option<&str>,
    username: &str,
    roles: &[&str],
    sites: &[&str],
) -> anyhow::Result<Account> {
    join_as(p, clock, inviter, username, roles, sites, IZUMO, "nurse").await
}

/// Invites (as `inviter`, or the operator), activates and enrols a member of
/// `municipality` with `profession`.
#[allow(clippy::too_many_arguments)]
pub async fn join_as(
    p: &Platform,
    clock: &Clock,
    inviter: Option<&str>,
    username: &str,
    roles: &[&str],
    sites: &[&str],
    municipality: &str,
    profession: &str,
) -> anyhow::Result<Account> {
    let body = json!({
        "name": "看護 花子", "name_kana": "カンゴ ハナコ", "profession": profession,
        "roles": roles, "sites": sites, "municipality": municipality
    });
    let request = match inviter {
        Some(token) => p.http.post(p.url("/api/v1/invitations")).bearer_auth(token),
        None => p.operator(Method::POST, "/api/v1/invitations"),
    };
    let (status, invitation) = send(request.json(&body)).await?;
    anyhow::ensure!(status == 201, "invitation: {invitation}");
    let (status, enrolment) = send(p.http.post(p.url("/api/v1/activation")).json(&json!({
        "activation_token": invitation["activation_token"], "username": username, "password": PASSWORD
    })))
    .await?;
    anyhow::ensure!(status == 200, "activation: {enrolment}");
    anyhow::ensure!(
        enrolment["qr_svg"]
            .as_str()
            .is_some_and(|q| q.contains("<svg")),
        "a QR code to scan"
    );
    let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap_or_default())?;
    let (status, confirmed) = send(p.http.post(p.url("/api/v1/activation/second-factor")).json(
        &json!({
            "enrolment_token": enrolment["enrolment_token"], "code": clock.code(&secret, 1)
        }),
    ))
    .await?;
    anyhow::ensure!(status == 200, "second factor: {confirmed}");
    Ok(Account {
        member_id: enrolment["member_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        username: username.to_owned(),
        secret,
    })
}

pub async fn sign_in(
    p: &Platform,
    who: &Account,
    password: &str,
    code: &str,
) -> anyhow::Result<(u16, Value)> {
    send(
        p.http
            .post(p.url("/api/v1/sessions"))
            .json(&json!({ "username": who.username, "password": password, "code": code })),
    )
    .await
}

/// Signs `who` in now and answers their access token.
pub async fn access_token(p: &Platform, clock: &Clock, who: &Account) -> anyhow::Result<String> {
    let (status, tokens) = sign_in(p, who, PASSWORD, &clock.code(&who.secret, 0)).await?;
    anyhow::ensure!(status == 201, "sign-in: {tokens}");
    Ok(tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Polls `/me` until it answers `want` (revocations reach the gateway as events).
pub async fn me_until(p: &Platform, token: &str, want: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = send(p.http.get(p.url("/api/v1/me")).bearer_auth(token)).await?;
        if status == want {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "/me still answers {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
