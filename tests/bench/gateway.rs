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
//! shown, and make it exit non-zero. (A patient read, with and without its access record,
//! is `bench-patient-read`.)
//!
//! Run it through `tests/bench/run gateway [--clients C] [--seconds S] [--warmup W]`.

use std::time::Duration;
use tsunagu_tests::bench_args;
use tsunagu_tests::http_load::{Target, load, percentile_ms};

use anyhow::bail;
use serde_json::json;
use tsunagu_tests::accounts::{access_token, join, site, start_with};
use tsunagu_tests::cpu::{busiest, endpoint_times, platform_cpu};

const USAGE: &str = "usage: bench-gateway [--clients C] [--seconds S] [--warmup W]   (run through tests/bench/run gateway)";
/// What the static route answers.
const STATIC_BODY: &str = "tsunagu";

struct Args {
    clients: usize,
    seconds: u64,
    warmup: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        clients: 64,
        seconds: 10,
        warmup: 2,
    };
    for (name, value) in bench_args::flags(USAGE)? {
        match name.as_str() {
            "--clients" => parsed.clients = bench_args::number(&name, &value, 1)? as usize,
            "--seconds" => parsed.seconds = bench_args::number(&name, &value, 1)?,
            "--warmup" => parsed.warmup = bench_args::number(&name, &value, 0)?,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(parsed)
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
    } = args;
    let profile = std::env::var("TSUNAGU_TEST_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    if profile != "release" {
        bail!(
            "TSUNAGU_TEST_PROFILE is {profile:?}, not \"release\": figures of a debug build mean \
             nothing; run through tests/bench/run gateway"
        );
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
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

    let http = tsunagu_tests::http_load::client(clients)?;
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
    let watch = platform_cpu(&p);
    let nats = p.nats.connect().await?;
    let mut rows = Vec::new();
    let mut shares = Vec::new();
    let mut services = Vec::new();
    for (case, target) in &cases {
        if warmup > 0 {
            let _ = load(&http, case, target, clients, Duration::from_secs(warmup)).await;
        }
        let stats = endpoint_times(&nats, identity_api::SERVICE).await?;
        let before = watch.read();
        let row = load(&http, case, target, clients, Duration::from_secs(seconds)).await;
        shares.push(watch.between(&before, &watch.read()));
        services.push(busiest(
            &stats,
            &endpoint_times(&nats, identity_api::SERVICE).await?,
        ));
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
    println!();
    println!(
        "where the CPUs went, per request answered (the static route runs in the load generator):"
    );
    for (r, share) in rows.iter().zip(&shares) {
        println!("  {:<34} {}", r.case, share.per_request(r.requests()));
    }
    println!();
    println!(
        "time in the identity service per request (NATS service stats, queueing included) against the client's mean:"
    );
    for (r, service) in rows.iter().zip(&services) {
        let mean = r.latencies.iter().sum::<Duration>().as_secs_f64() * 1e3
            / r.latencies.len().max(1) as f64;
        match service {
            Some((endpoint, n, t)) => println!(
                "  {:<34} {endpoint}: {n} requests, {:.2} ms in the service; client mean {mean:.2} ms                  (gateway + bus: {:.2} ms)",
                r.case,
                t.as_secs_f64() * 1e3,
                mean - t.as_secs_f64() * 1e3
            ),
            None => println!("  {:<34} no bus call; client mean {mean:.2} ms", r.case),
        }
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
        "cases": rows.iter().zip(&shares).zip(&services).map(|((r, share), service)| json!({
            "service_ms": service.as_ref().map(|(_, _, t)| (t.as_secs_f64() * 1e6).round() / 1e3),
            "cpu_us_per_request": share.to_json(r.requests()),
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
