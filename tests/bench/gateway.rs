//! bench-gateway: what an authenticated read through the gateway costs next to a plain
//! axum route, with the release binaries of the identity service and the gateway.
//!
//! Starts a whole platform (`testkit::Platform` on the injected clock, through
//! `tests/support/accounts.rs`, with the rate limits off: `TSUNAGU_RATE_LIMIT_PER_MEMBER=0`,
//! `TSUNAGU_RATE_LIMIT_PER_ADDRESS=0`) and signs a nurse in. Then in the same run, each case
//! after a warm-up, with C clients each keeping one request in flight for S seconds:
//! (a) `GET /api/v1/sites/{id}` and `GET /api/v1/me` with the nurse's bearer token: the
//!     gateway verifies the token (EdDSA, or its cache of verified tokens), checks the
//!     permission rules and asks the identity service over NATS, which reads Postgres;
//! (b) a plain static axum route: a server started by this binary on 127.0.0.1, one route
//!     answering a static string, no layers, on its own runtime;
//! (c) the gateway's `GET /healthz` (all its layers, no token, no bus call).
//!
//! One reqwest client for all, its pool sized for C connections, keep-alive on. Latency
//! is per request, from send until the whole answer is read; req/s counts every request
//! answered in the timed window. Anything but 200 is an error: errors are counted, a few
//! shown, and make it exit non-zero.
//!
//! With `--patient-reads` it measures instead a patient read, `GET
//! /api/v1/patients/{id}/record?categories=care_records` by a nurse on the patient's team
//! with a verified consent (identity decides, records one `AccessRecorded` with group commit,
//! answers), against the same read on a second platform whose identity service is the build
//! with the `unrecorded-reads-for-benchmarks` feature run with
//! `TSUNAGU_BENCH_UNRECORDED_READS=1` (decides, answers, records nothing), and counts the
//! access records each platform's stream received.
//!
//! Run it through `tests/bench/run gateway [--clients C] [--seconds S] [--warmup W]` or
//! `tests/bench/run patient-read [--clients C] [--seconds S] [--warmup W]`.

use std::time::{Duration, Instant};
use tsunagu_tests::bench_args;

use anyhow::bail;
use serde_json::json;
use tsunagu_tests::accounts::{access_token, join, site, start_with};

const USAGE: &str = "usage: bench-gateway [--clients C] [--seconds S] [--warmup W] [--patient-reads 1]   (run through tests/bench/run gateway or patient-read)";
/// What the static route answers.
const STATIC_BODY: &str = "tsunagu";
/// Errors shown in full per case (all are counted).
const ERRORS_SHOWN: usize = 5;

struct Args {
    clients: usize,
    seconds: u64,
    warmup: u64,
    patient_reads: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        clients: 64,
        seconds: 10,
        warmup: 2,
        patient_reads: false,
    };
    for (name, value) in bench_args::flags(USAGE)? {
        match name.as_str() {
            "--clients" => parsed.clients = bench_args::number(&name, &value, 1)? as usize,
            "--seconds" => parsed.seconds = bench_args::number(&name, &value, 1)?,
            "--warmup" => parsed.warmup = bench_args::number(&name, &value, 0)?,
            "--patient-reads" => parsed.patient_reads = value == "true" || value == "1",
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(parsed)
}

/// One request, sent again and again.
#[derive(Clone)]
struct Target {
    url: String,
    bearer: Option<String>,
}

/// What one case measured.
struct Row {
    case: String,
    wall: Duration,
    /// Of the successful requests, sorted.
    latencies: Vec<Duration>,
    errors: usize,
    /// The first few errors, in full.
    shown: Vec<String>,
}

impl Row {
    fn requests(&self) -> usize {
        self.latencies.len() + self.errors
    }

    fn per_s(&self) -> f64 {
        self.requests() as f64 / self.wall.as_secs_f64()
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

/// `clients` tasks, each sending `target` one request at a time for `length`.
async fn load(
    http: &reqwest::Client,
    case: &str,
    target: &Target,
    clients: usize,
    length: Duration,
) -> Row {
    let started = Instant::now();
    let deadline = started + length;
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (http, target) = (http.clone(), target.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                while Instant::now() < deadline {
                    let mut request = http.get(&target.url);
                    if let Some(token) = &target.bearer {
                        request = request.bearer_auth(token);
                    }
                    let t = Instant::now();
                    let answer = match request.send().await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            response.bytes().await.map(|body| (status, body))
                        }
                        Err(e) => Err(e),
                    };
                    match answer {
                        Ok((200, _)) => latencies.push(t.elapsed()),
                        Ok((status, body)) => errors.push(format!(
                            "{status} {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        )),
                        Err(e) => errors.push(format!("no answer: {e}")),
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut shown = Vec::new();
    for worker in workers {
        match worker.await {
            Ok((l, e)) => {
                latencies.extend(l);
                errors += e.len();
                shown.extend(e.into_iter().take(ERRORS_SHOWN.saturating_sub(shown.len())));
            }
            Err(e) => {
                errors += 1;
                shown.push(format!("a client task failed: {e}"));
            }
        }
    }
    let wall = started.elapsed();
    latencies.sort_unstable();
    Row {
        case: case.to_owned(),
        wall,
        latencies,
        errors,
        shown,
    }
}

/// A plain axum server on 127.0.0.1, one static route, no layers, on a runtime of its own
/// (so its work does not queue behind the load generator's); answers its URL.
fn static_server() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/static", listener.local_addr()?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("static-axum")
        .build()?;
    std::thread::Builder::new()
        .name("static-axum".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let app = axum::Router::new()
                    .route("/static", axum::routing::get(|| async { STATIC_BODY }));
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => {
                        if let Err(e) = axum::serve(listener, app).await {
                            eprintln!("static server: {e}");
                        }
                    }
                    Err(e) => eprintln!("static server: {e}"),
                }
            })
        })?;
    Ok(url)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Args {
        clients,
        seconds,
        warmup,
        patient_reads,
    } = args;
    let profile = std::env::var("TSUNAGU_TEST_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    if profile != "release" {
        bail!(
            "TSUNAGU_TEST_PROFILE is {profile:?}, not \"release\": figures of a debug build mean \
             nothing; run through tests/bench/run gateway"
        );
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    if patient_reads {
        return patient_read_cases(clients, seconds, warmup, &profile, cpus).await;
    }
    let (p, clock) = start_with(&[
        ("TSUNAGU_RATE_LIMIT_PER_MEMBER", "0"),
        ("TSUNAGU_RATE_LIMIT_PER_ADDRESS", "0"),
    ])
    .await?;
    let site = site(&p, "医療法人 計測会", "計測訪問看護ステーション").await?;
    let nurse = join(
        &p,
        &clock,
        None,
        "bench.reader",
        &["professional"],
        &[&site],
    )
    .await?;
    let token = access_token(&p, &clock, &nurse).await?;
    let static_url = static_server()?;

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .tcp_nodelay(true)
        .build()?;
    let member = |path: &str| Target {
        url: p.url(path),
        bearer: Some(token.clone()),
    };
    let open = |url: String| Target { url, bearer: None };
    let cases = [
        (
            "GET /api/v1/sites/{id} (bearer)",
            member(&format!("/api/v1/sites/{site}")),
        ),
        ("GET /api/v1/me (bearer)", member("/api/v1/me")),
        ("static axum route", open(static_url)),
        ("GET /healthz (gateway)", open(p.url("/healthz"))),
    ];

    println!(
        "identity + gateway: {profile} binaries; {cpus} CPUs, shared by the load generator, the \
         static server, the gateway, the identity service, nats-server and PostgreSQL"
    );
    println!(
        "{clients} clients, one request in flight each; one reqwest client, pool of {clients}, \
         keep-alive on; {warmup} s warm-up then {seconds} s per case; rate limits off; \
         PostgreSQL fsync on, nats-server sync_interval: always"
    );
    let mut rows = Vec::new();
    for (case, target) in &cases {
        if warmup > 0 {
            let _ = load(&http, case, target, clients, Duration::from_secs(warmup)).await;
        }
        let row = load(&http, case, target, clients, Duration::from_secs(seconds)).await;
        rows.push(row);
    }

    println!();
    println!(
        "{:<34} {:>7} {:>9} {:>9} {:>8} {:>8} {:>7}",
        "case", "clients", "requests", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for r in &rows {
        println!(
            "{:<34} {:>7} {:>9} {:>9.1} {:>8.2} {:>8.2} {:>7}",
            r.case,
            clients,
            r.requests(),
            r.per_s(),
            percentile_ms(&r.latencies, 0.50),
            percentile_ms(&r.latencies, 0.99),
            r.errors
        );
    }
    let round = |x: f64, places: i32| {
        let f = 10f64.powi(places);
        (x * f).round() / f
    };
    let json = json!({
        "bench": "gateway",
        "profile": profile,
        "cpus": cpus,
        "clients": clients,
        "seconds": seconds,
        "warmup_s": warmup,
        "cases": rows.iter().map(|r| json!({
            "case": r.case,
            "clients": clients,
            "requests": r.requests(),
            "per_s": round(r.per_s(), 1),
            "p50_ms": round(percentile_ms(&r.latencies, 0.50), 3),
            "p99_ms": round(percentile_ms(&r.latencies, 0.99), 3),
            "errors": r.errors,
        })).collect::<Vec<_>>(),
    });
    println!();
    println!("{json}");

    let errors: usize = rows.iter().map(|r| r.errors).sum();
    if errors > 0 {
        println!();
        for r in rows.iter().filter(|r| r.errors > 0) {
            println!("{}: {} errors, e.g.", r.case, r.errors);
            for e in &r.shown {
                println!("  {e}");
            }
        }
        bail!(
            "{errors} requests failed\n--- identity ---\n{}\n--- gateway ---\n{}",
            p.identity.log_tail(20),
            p.gateway.log_tail(20)
        );
    }
    Ok(())
}

/// A platform with a patient, a verified consent covering the nursing station, and a nurse
/// on the team; answers the platform and the nurse's read.
async fn patient_platform(extra: &[(&str, &str)]) -> anyhow::Result<(testkit::Platform, Target)> {
    use tsunagu_tests::care::{
        PatientForm, add_seat, consent_form, grant_consent, listed_sites, professional,
        register_patient, secretariat, site_of_kind,
    };
    let mut env = vec![
        ("TSUNAGU_RATE_LIMIT_PER_MEMBER", "0"),
        ("TSUNAGU_RATE_LIMIT_PER_ADDRESS", "0"),
    ];
    env.extend_from_slice(extra);
    let (p, clock) = start_with(&env).await?;
    let izumo = tsunagu_tests::accounts::IZUMO;
    let office = site_of_kind(
        &p,
        izumo,
        "計測居宅介護支援事業所",
        "care_management_office",
        &["43"],
    )
    .await?;
    let nursing = site_of_kind(
        &p,
        izumo,
        "計測訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let care_manager = professional(&p, &clock, "bench.cm", "care_manager", &office, izumo).await?;
    let nurse = professional(&p, &clock, "bench.nurse", "nurse", &nursing, izumo).await?;
    let city = secretariat(&p, &clock, "bench.sec", izumo).await?;
    let patient = register_patient(
        &p,
        &care_manager,
        &PatientForm::new("bench", izumo),
        Some(&office),
    )
    .await?;
    grant_consent(
        &p,
        &care_manager,
        &city,
        &patient,
        &consent_form(
            listed_sites(&[&office, &nursing]),
            &["care_records"],
            &office,
            "2026-10-01",
        ),
    )
    .await?;
    add_seat(
        &p,
        &care_manager,
        &patient,
        &nursing,
        None,
        "visiting_nurse",
    )
    .await?;
    let target = Target {
        url: p.url(&format!(
            "/api/v1/patients/{patient}/record?categories=care_records&purpose=care"
        )),
        bearer: Some(nurse.token.clone()),
    };
    Ok((p, target))
}

/// The patient read with and without its access record, in one run.
async fn patient_read_cases(
    clients: usize,
    seconds: u64,
    warmup: u64,
    profile: &str,
    cpus: usize,
) -> anyhow::Result<()> {
    let unrecorded = std::env::var("TSUNAGU_BENCH_UNRECORDED_IDENTITY").map_err(|_| {
        anyhow::anyhow!(
            "TSUNAGU_BENCH_UNRECORDED_IDENTITY is not set: run through tests/bench/run patient-read"
        )
    })?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .tcp_nodelay(true)
        .build()?;
    println!(
        "patient reads: {profile} binaries; {cpus} CPUs shared by the load generator, the gateway, \
         identity, audit, nats-server and PostgreSQL; {clients} clients, {warmup} s warm-up then \
         {seconds} s per case; fsync on everywhere"
    );
    let mut rows = Vec::new();
    for (case, extra) in [
        ("patient read, recorded", vec![]),
        (
            "patient read, NOT recorded",
            vec![
                ("TSUNAGU_TEST_IDENTITY_BINARY", unrecorded.as_str()),
                ("TSUNAGU_BENCH_UNRECORDED_READS", "1"),
            ],
        ),
    ] {
        let (p, target) = patient_platform(&extra).await?;
        let before = tsunagu_tests::care::access_records(&p).await?.len();
        if warmup > 0 {
            let _ = load(&http, case, &target, clients, Duration::from_secs(warmup)).await;
        }
        let row = load(&http, case, &target, clients, Duration::from_secs(seconds)).await;
        let recorded = tsunagu_tests::care::access_records(&p).await?.len() - before;
        println!(
            "{case}: {} requests answered 200, {} access records written during the timed window and warm-up",
            row.latencies.len(),
            recorded
        );
        rows.push(row);
    }
    println!();
    println!(
        "{:<30} {:>7} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7}",
        "case", "clients", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors"
    );
    for r in &rows {
        println!(
            "{:<30} {:>7} {:>9} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>7}",
            r.case,
            clients,
            r.requests(),
            r.per_s(),
            percentile_ms(&r.latencies, 0.50),
            percentile_ms(&r.latencies, 0.90),
            percentile_ms(&r.latencies, 0.99),
            r.errors
        );
    }
    let errors: usize = rows.iter().map(|r| r.errors).sum();
    if errors > 0 {
        for r in rows.iter().filter(|r| r.errors > 0) {
            println!("{}: {} errors, e.g. {:?}", r.case, r.errors, r.shown);
        }
        bail!("{errors} requests failed");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    if std::env::var_os("TSUNAGU_NATS_SERVER").is_none() {
        bail!("TSUNAGU_NATS_SERVER is not set: run through tests/bench/run gateway");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // On a signal the run is dropped, and with it the platform's processes and database.
    tokio::select! {
        result = run(args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = term.recv() => bail!("terminated"),
    }
}
