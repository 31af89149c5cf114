//! bench-signin: what signing in and issuing tokens cost, through the gateway, with the
//! release binaries of the identity service and the gateway.
//!
//! Starts a whole platform (`testkit::Platform`: a private nats-server with
//! `sync_interval: always`, a fresh database on the run's PostgreSQL with fsync on, the
//! identity service and the gateway as child processes, from the folder named by
//! `TSUNAGU_TEST_PROFILE`), creates N members through the HTTP API (invite → activate →
//! enrol a second factor), then in the same run, always with C requests in flight:
//! (a) a baseline: `GET /healthz` of the gateway;
//! (b) sign-ins: every member signs in once (`POST /api/v1/sessions`, password and the
//!     current TOTP code; a code's step works once, so once per member). Each one verifies
//!     an argon2id hash (m=19 MiB, t=2, p=1, `shared/credentials/src/password.rs`);
//! (c) token issue without argon2: every session refreshes R times in a chain
//!     (`POST /api/v1/sessions/refresh`, each time with its newest refresh token).
//!
//! Latency is per request, from send until the whole answer is read. Codes come from the
//! system clock, as the services' do (no `TSUNAGU_CLOCK_START`). Every sign-in must
//! answer 201 and every refresh 200: failures are counted, printed, and make it exit
//! non-zero.
//!
//! Run it through `tests/bench/run signin [--members N] [--concurrency C] [--rounds R]`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tsunagu_tests::bench_args;

use anyhow::{bail, ensure};
use credentials::totp::{STEP, TotpSecret};
use futures::stream::{self, StreamExt};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use testkit::Platform;

const USAGE: &str = "usage: bench-signin [--members N] [--concurrency C] [--rounds R]   (run through tests/bench/run signin)";
const PASSWORD: &str = "tsunagu-bench-password";
const IZUMO: &str = "322032";
/// Progress is shown every this many members created.
const PROGRESS_EVERY: usize = 50;
/// Untimed `/healthz` requests before the timed ones.
const HEALTH_WARMUP: usize = 500;
/// Timed `/healthz` requests.
const HEALTH_REQUESTS: usize = 5_000;
/// Failures printed in full (all are counted).
const FAILURES_SHOWN: usize = 50;

struct Args {
    members: usize,
    concurrency: usize,
    rounds: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        members: 200,
        concurrency: 8,
        rounds: 5,
    };
    for (name, value) in bench_args::flags(USAGE)? {
        let slot = match name.as_str() {
            "--members" => &mut parsed.members,
            "--concurrency" => &mut parsed.concurrency,
            "--rounds" => &mut parsed.rounds,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        };
        *slot = bench_args::number(&name, &value, 1)? as usize;
    }
    Ok(parsed)
}

/// The current TOTP step of the system clock (the services' clock too).
fn step_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    secs.div_euclid(STEP)
}

async fn send(request: RequestBuilder) -> anyhow::Result<(u16, Value)> {
    let (status, _, body) = testkit::json(request.send().await?).await?;
    Ok((status, body))
}

/// A request timed from send until its whole answer is read.
async fn timed(request: RequestBuilder) -> (Duration, anyhow::Result<(u16, Value)>) {
    let t = Instant::now();
    let result = send(request).await;
    (t.elapsed(), result)
}

/// A municipality, an organisation and a site of it; answers the site id.
async fn site(p: &Platform) -> anyhow::Result<String> {
    let (status, body) = send(
        p.operator(Method::POST, "/api/v1/municipalities")
            .json(&json!({ "code": IZUMO, "name": "出雲市", "name_kana": "イズモシ" })),
    )
    .await?;
    ensure!(status == 201, "municipality: {status} {body}");
    let (status, org) = send(
        p.operator(Method::POST, "/api/v1/organisations")
            .json(&json!({
                "name": "医療法人 計測会", "name_kana": "イリョウホウジン ケイソクカイ",
                "kind": "medical_corporation", "home_municipality": IZUMO
            })),
    )
    .await?;
    ensure!(status == 201, "organisation: {status} {org}");
    let org = org["organisation_id"].as_str().unwrap_or_default();
    let (status, site) = send(p.operator(Method::POST, &format!("/api/v1/organisations/{org}/sites")).json(&json!({
        "name": "計測訪問看護ステーション", "name_kana": "ケイソクホウモンカンゴステーション",
        "kind": "home_visit_nursing_station", "service_types": ["13"], "home_municipality": IZUMO,
        "address": "島根県出雲市今市町1", "phone": "0853-00-0000"
    })))
    .await?;
    ensure!(status == 201, "site: {status} {site}");
    Ok(site["site_id"].as_str().unwrap_or_default().to_owned())
}

struct Member {
    username: String,
    secret: TotpSecret,
    /// The step of the code that enrolled the second factor: sign-in needs a later one.
    enrol_step: i64,
}

/// Invites (as the operator), activates and enrols member `i`.
async fn join(p: &Platform, site: &str, i: usize) -> anyhow::Result<Member> {
    let username = format!("bench.{i:05}");
    let (status, invitation) = send(
        p.operator(Method::POST, "/api/v1/invitations")
            .json(&json!({
                "name": "計測 花子", "name_kana": "ケイソク ハナコ", "profession": "nurse",
                "roles": ["professional"], "sites": [site], "municipality": IZUMO
            })),
    )
    .await?;
    ensure!(
        status == 201,
        "invitation of {username}: {status} {invitation}"
    );
    let (status, enrolment) = send(p.http.post(p.url("/api/v1/activation")).json(&json!({
        "activation_token": invitation["activation_token"], "username": username, "password": PASSWORD
    })))
    .await?;
    ensure!(
        status == 200,
        "activation of {username}: {status} {enrolment}"
    );
    let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap_or_default())?;
    let enrol_step = step_now();
    let (status, confirmed) = send(p.http.post(p.url("/api/v1/activation/second-factor")).json(
        &json!({
            "enrolment_token": enrolment["enrolment_token"],
            "code": secret.code_at(enrol_step * STEP)
        }),
    ))
    .await?;
    ensure!(
        status == 200,
        "second factor of {username}: {status} {confirmed}"
    );
    Ok(Member {
        username,
        secret,
        enrol_step,
    })
}

/// One case's figures: requests and req/s count every request sent, the percentiles only
/// the successful ones (a failure's latency would flatter or spoil them).
struct Row {
    case: String,
    requests: usize,
    wall: Duration,
    /// Of the successful requests, sorted.
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

impl Row {
    fn new(
        case: String,
        wall: Duration,
        mut latencies: Vec<Duration>,
        failures: Vec<String>,
    ) -> Self {
        latencies.sort_unstable();
        Self {
            case,
            requests: latencies.len() + failures.len(),
            wall,
            latencies,
            failures,
        }
    }

    fn per_s(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }
}

/// The nearest-rank percentile `q` (0..1] of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

fn describe(result: anyhow::Result<(u16, Value)>) -> String {
    match result {
        Ok((status, body)) => format!("{status} {body}"),
        Err(e) => format!("no answer: {e:#}"),
    }
}

async fn health(
    p: &Platform,
    n: usize,
    concurrency: usize,
) -> (Duration, Vec<Duration>, Vec<String>) {
    let url = p.url("/healthz");
    let started = Instant::now();
    let results: Vec<_> = stream::iter(0..n)
        .map(|_| timed(p.http.get(&url)))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    let mut latencies = Vec::with_capacity(n);
    let mut failures = Vec::new();
    for (latency, result) in results {
        match result {
            Ok((200, _)) => latencies.push(latency),
            other => failures.push(format!("GET /healthz: {}", describe(other))),
        }
    }
    (wall, latencies, failures)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Args {
        members: n,
        concurrency,
        rounds,
    } = args;
    let profile = std::env::var("TSUNAGU_TEST_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    if profile != "release" {
        bail!(
            "TSUNAGU_TEST_PROFILE is {profile:?}, not \"release\": figures of a debug build mean \
             nothing; run through tests/bench/run signin"
        );
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let p = Platform::start().await?;
    println!(
        "identity + gateway: {profile} binaries, {cpus} CPUs; PostgreSQL fsync on, nats-server sync_interval: always"
    );
    println!(
        "argon2id m=19 MiB (19456 KiB), t=2, p=1 (shared/credentials/src/password.rs): \
         each sign-in verifies one hash, a refresh none"
    );

    // Members, through the API, C at a time.
    let site = site(&p).await?;
    let created = AtomicUsize::new(0);
    let setup = Instant::now();
    let joined: Vec<anyhow::Result<Member>> = stream::iter(0..n)
        .map(|i| {
            let (p, site, created) = (&p, &site, &created);
            async move {
                let member = join(p, site, i).await?;
                let done = created.fetch_add(1, Ordering::Relaxed) + 1;
                if done % PROGRESS_EVERY == 0 || done == n {
                    let secs = setup.elapsed().as_secs_f64();
                    println!(
                        "  created {done:>5}/{n} members ({:.1} s, {:.1} members/s)",
                        secs,
                        done as f64 / secs
                    );
                }
                Ok(member)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let members = joined.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let setup_s = setup.elapsed().as_secs_f64();
    println!(
        "{n} members (invite → activate → enrol) in {setup_s:.1} s; {concurrency} requests in flight; \
         {rounds} refreshes per session; {HEALTH_REQUESTS} /healthz after {HEALTH_WARMUP} warm-up"
    );

    // (a) Baseline: the gateway's cheapest route.
    let _ = health(&p, HEALTH_WARMUP, concurrency).await;
    let (wall, latencies, failures) = health(&p, HEALTH_REQUESTS, concurrency).await;
    let baseline = Row::new("GET /healthz".to_owned(), wall, latencies, failures);

    // (b) Sign-ins, each member once.
    let sessions_url = p.url("/api/v1/sessions");
    let started = Instant::now();
    let results: Vec<_> = stream::iter(&members)
        .map(|m| {
            // A step after the enrolment's, within the services' one step of drift.
            let step = step_now().max(m.enrol_step + 1);
            let request = p.http.post(&sessions_url).json(&json!({
                "username": m.username, "password": PASSWORD, "code": m.secret.code_at(step * STEP)
            }));
            async move { (m, timed(request).await) }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    let mut latencies = Vec::with_capacity(n);
    let mut failures = Vec::new();
    let mut sessions = Vec::with_capacity(n);
    for (m, (latency, result)) in results {
        match result {
            Ok((201, body)) if body["refresh_token"].is_string() => {
                latencies.push(latency);
                sessions.push(
                    body["refresh_token"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            other => failures.push(format!("sign-in of {}: {}", m.username, describe(other))),
        }
    }
    let signins = Row::new(
        "sign-in (argon2id + TOTP)".to_owned(),
        wall,
        latencies,
        failures,
    );

    // (c) Token issue: refresh chains, each session R times with its newest token.
    let refresh_url = p.url("/api/v1/sessions/refresh");
    let started = Instant::now();
    let chains: Vec<_> = stream::iter(sessions.into_iter().enumerate())
        .map(|(k, mut token)| {
            let (p, url) = (&p, &refresh_url);
            async move {
                let mut latencies = Vec::with_capacity(rounds);
                let mut failure = None;
                for round in 1..=rounds {
                    let (latency, result) =
                        timed(p.http.post(url).json(&json!({ "refresh_token": token }))).await;
                    match result {
                        Ok((200, body)) if body["refresh_token"].is_string() => {
                            latencies.push(latency);
                            token = body["refresh_token"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned();
                        }
                        other => {
                            failure = Some(format!(
                                "refresh {round}/{rounds} of session #{k} (the chain stops): {}",
                                describe(other)
                            ));
                            break;
                        }
                    }
                }
                (latencies, failure)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    let mut latencies = Vec::with_capacity(n * rounds);
    let mut failures = Vec::new();
    for (chain, failure) in chains {
        latencies.extend(chain);
        failures.extend(failure);
    }
    let refreshes = Row::new(
        format!("token refresh (chains of {rounds})"),
        wall,
        latencies,
        failures,
    );

    let rows = [baseline, signins, refreshes];
    println!();
    println!(
        "{:<32} {:>9} {:>8} {:>9} {:>8} {:>8} {:>8}",
        "case", "in flight", "requests", "req/s", "p50 ms", "p99 ms", "failed"
    );
    for r in &rows {
        println!(
            "{:<32} {:>9} {:>8} {:>9.1} {:>8.2} {:>8.2} {:>8}",
            r.case,
            concurrency,
            r.requests,
            r.per_s(),
            percentile_ms(&r.latencies, 0.50),
            percentile_ms(&r.latencies, 0.99),
            r.failures.len()
        );
    }
    let round = |x: f64, places: i32| {
        let f = 10f64.powi(places);
        (x * f).round() / f
    };
    let json = json!({
        "bench": "signin",
        "profile": profile,
        "cpus": cpus,
        "argon2id": { "m_kib": 19 * 1024, "t": 2, "p": 1 },
        "members": n,
        "concurrency": concurrency,
        "refresh_rounds": rounds,
        "setup_s": round(setup_s, 1),
        "cases": rows.iter().map(|r| json!({
            "case": r.case,
            "in_flight": concurrency,
            "requests": r.requests,
            "per_s": round(r.per_s(), 1),
            "p50_ms": round(percentile_ms(&r.latencies, 0.50), 3),
            "p99_ms": round(percentile_ms(&r.latencies, 0.99), 3),
            "failed": r.failures.len(),
        })).collect::<Vec<_>>(),
    });
    println!();
    println!("{json}");

    let failed: Vec<&String> = rows.iter().flat_map(|r| &r.failures).collect();
    if !failed.is_empty() {
        println!();
        println!("{} requests failed:", failed.len());
        for f in failed.iter().take(FAILURES_SHOWN) {
            println!("  {f}");
        }
        if failed.len() > FAILURES_SHOWN {
            println!("  … and {} more", failed.len() - FAILURES_SHOWN);
        }
        bail!(
            "{} requests failed\n--- identity ---\n{}\n--- gateway ---\n{}",
            failed.len(),
            p.identity.log_tail(20),
            p.gateway.log_tail(20)
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    if std::env::var_os("TSUNAGU_NATS_SERVER").is_none() {
        bail!("TSUNAGU_NATS_SERVER is not set: run through tests/bench/run signin");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // On a signal the run is dropped, and with it the platform's processes and database.
    tokio::select! {
        result = run(args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = term.recv() => bail!("terminated"),
    }
}
