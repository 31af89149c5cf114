//! bench-directory: saying what a site can take now, and reading the municipality's board,
//! through the gateway on the release binaries.
//!
//! Starts a whole platform (rate limits off) with C sites of one municipality, each with one
//! member of its staff signed in. Then:
//! (a) C clients, each for its own site, keep one `PUT /api/v1/sites/{id}/availability` in
//!     flight for S seconds: the gateway, the site placed by identity's register, the
//!     author named, one append — and the answer only once the board's projection holds it,
//!     so each latency is also the lag from an update to its appearance on the board;
//! (b) a sample of updates is checked against a read by another member right after, to show
//!     the board holds each as soon as its update is answered;
//! (c) C clients keep one `GET /api/v1/availability` (every site's latest status) in flight
//!     for S seconds.
//!
//! Run it through `tests/bench/run directory [--clients C] [--seconds S]`.

use std::time::{Duration, Instant};

use anyhow::bail;
use reqwest::Method;
use serde_json::json;
use tsunagu_tests::accounts::{IZUMO, send, start_with};
use tsunagu_tests::bench_args;
use tsunagu_tests::care::{professional, site_of_kind};
use tsunagu_tests::http_load::percentile_ms;

const USAGE: &str =
    "usage: bench-directory [--clients C] [--seconds S]   (run through tests/bench/run directory)";

struct Args {
    clients: usize,
    seconds: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        clients: 50,
        seconds: 10,
    };
    for (name, value) in bench_args::flags(USAGE)? {
        match name.as_str() {
            "--clients" => parsed.clients = bench_args::number(&name, &value, 1)? as usize,
            "--seconds" => parsed.seconds = bench_args::number(&name, &value, 1)?,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(parsed)
}

/// One case's answers.
struct Row {
    wall: Duration,
    latencies: Vec<Duration>,
    errors: Vec<String>,
}

impl Row {
    fn print(&self, case: &str) {
        println!(
            "{case}: {} answered in {:.1} s = {:.1}/s, p50 {:.1} ms, p99 {:.1} ms, {} errors{}",
            self.latencies.len(),
            self.wall.as_secs_f64(),
            self.latencies.len() as f64 / self.wall.as_secs_f64(),
            percentile_ms(&self.latencies, 0.5),
            percentile_ms(&self.latencies, 0.99),
            self.errors.len(),
            self.errors
                .first()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
    }
}

/// One loop per (url, token, body), each sending its request back to back until `length`
/// is over.
async fn closed_loop(
    http: &reqwest::Client,
    method: Method,
    targets: Vec<(String, String)>,
    length: Duration,
) -> Row {
    let started = Instant::now();
    let deadline = started + length;
    let workers: Vec<_> = targets
        .into_iter()
        .enumerate()
        .map(|(i, (url, token))| {
            let (http, method) = (http.clone(), method.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                let mut n = 0u32;
                while Instant::now() < deadline {
                    let mut request = http.request(method.clone(), &url).bearer_auth(&token);
                    if method == Method::PUT {
                        // Each update differs from the last, as a provider's day goes.
                        request = request.json(&json!({
                            "accepting": if n.is_multiple_of(3) { "conditional" } else { "yes" },
                            "conditions": format!("計測 {i}-{n}: 要介護3まで"),
                            "new_clients": n % 5,
                        }));
                    }
                    let t = Instant::now();
                    match request.send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            latencies.push(t.elapsed());
                        }
                        Ok(r) => errors.push(format!(
                            "{} {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        )),
                        Err(e) => errors.push(format!("no answer: {e}")),
                    }
                    n += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut row = Row {
        wall: Duration::ZERO,
        latencies: Vec::new(),
        errors: Vec::new(),
    };
    for w in workers {
        if let Ok((latencies, errors)) = w.await {
            row.latencies.extend(latencies);
            row.errors.extend(errors);
        }
    }
    row.wall = started.elapsed();
    row.latencies.sort();
    row
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Args { clients, seconds } = args;
    let profile = std::env::var("TSUNAGU_TEST_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    if profile != "release" {
        bail!(
            "TSUNAGU_TEST_PROFILE is {profile:?}, not \"release\": run through tests/bench/run directory"
        );
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let (p, clock) = start_with(&[
        ("TSUNAGU_RATE_LIMIT_PER_MEMBER", "0"),
        ("TSUNAGU_RATE_LIMIT_PER_ADDRESS", "0"),
    ])
    .await?;
    let setup = Instant::now();
    let mut staff = Vec::with_capacity(clients);
    for i in 0..clients {
        let site =
            site_of_kind(&p, IZUMO, &format!("計測事業所{i}"), "short_stay", &["21"]).await?;
        let member = professional(
            &p,
            &clock,
            &format!("bench.site{i}"),
            "care_worker",
            &site,
            IZUMO,
        )
        .await?;
        staff.push((site, member));
    }
    eprintln!(
        "bench-directory: {clients} sites and their staff in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let http = tsunagu_tests::http_load::client(clients)?;
    let length = Duration::from_secs(seconds);

    let updates = closed_loop(
        &http,
        Method::PUT,
        staff
            .iter()
            .map(|(site, m)| {
                (
                    p.url(&format!("/api/v1/sites/{site}/availability")),
                    m.token.clone(),
                )
            })
            .collect(),
        length,
    )
    .await;

    // Right after an update is answered, another member's read of the board holds it.
    let (_, reader) = &staff[0];
    let mut checked = 0;
    for (i, (site, m)) in staff.iter().enumerate().skip(1).take(20) {
        let words = format!("直後の確認 {i}");
        let (status, _) = send(
            m.request(
                &p,
                Method::PUT,
                &format!("/api/v1/sites/{site}/availability"),
            )
            .json(&json!({ "accepting": "conditional", "conditions": words })),
        )
        .await?;
        anyhow::ensure!(status == 200, "an update answered {status}");
        let (status, board) = send(reader.request(&p, Method::GET, "/api/v1/availability")).await?;
        anyhow::ensure!(status == 200, "the board answered {status}");
        let shown = board["sites"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["site_id"] == site.as_str() && s["conditions"] == words.as_str());
        anyhow::ensure!(
            shown,
            "an update answered but not on the board at once (site {site})"
        );
        checked += 1;
    }

    let reads = closed_loop(
        &http,
        Method::GET,
        staff
            .iter()
            .map(|(_, m)| (p.url("/api/v1/availability"), m.token.clone()))
            .collect(),
        length,
    )
    .await;

    println!(
        "bench-directory: {clients} clients, {seconds} s a case, {cpus} CPUs, release binaries"
    );
    updates.print("availability updates (PUT, answered once the board holds it)");
    println!(
        "  update → on the board: p50 {:.1} ms, p99 {:.1} ms (the update's own latency: it answers only after the board's projection applied it; {checked} of {checked} checked by another member's read right after)",
        percentile_ms(&updates.latencies, 0.5),
        percentile_ms(&updates.latencies, 0.99)
    );
    reads.print(&format!(
        "the board (GET /api/v1/availability, {clients} sites)"
    ));
    if !updates.errors.is_empty() || !reads.errors.is_empty() {
        bail!("errors in the run");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    if std::env::var_os("TSUNAGU_NATS_SERVER").is_none() {
        bail!("TSUNAGU_NATS_SERVER is not set: run through tests/bench/run directory");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = run(args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = term.recv() => bail!("terminated"),
    }
}
