//! bench-patient-read: what recording the access costs a patient read through the gateway,
//! with and without the record, in one run.
//!
//! Two platforms (`testkit::Platform`, release binaries, rate limits off), one after the
//! other, each with a patient registered by a care management office, a verified consent
//! covering that office and a visiting nursing station, and a nurse of the station on the
//! patient's team:
//! (a) **recorded**: the identity service as it ships. Each read waits for the care
//!     projection to hold the patient's last event, decides (`consent::decide`), records one
//!     `AccessRecorded` through group commit (fsynced), then answers;
//! (b) **not recorded**: the identity binary built with the `unrecorded-reads-for-benchmarks`
//!     feature (`TSUNAGU_TEST_IDENTITY_BINARY`) and run with
//!     `TSUNAGU_BENCH_UNRECORDED_READS=1`: the same wait and decision, no record.
//!
//! On each, per route, after a warm-up, C clients each keep one request with the nurse's
//! bearer token in flight for S seconds: `GET /api/v1/patients/{id}` (registration data)
//! and `GET /api/v1/patients/{id}/record?categories=care_records&purpose=care`. Anything but
//! 200 is an error. The access stream's growth over each timed window is counted: in (a) one
//! record per request, in (b) none. An error or a count that does not fit makes it exit
//! non-zero.
//!
//! In (a) the audit service also copies every record into the audit stream and chains it,
//! on the same CPUs: that is part of what recording costs. The `load` column is the
//! machine's 1-minute load average as each window closed: this run alone keeps it above the
//! CPU count, so it tells only whether a case had company the others did not.
//!
//! Run it through `tests/bench/run patient-read [--clients C] [--seconds S] [--warmup W]`.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;
use testkit::Platform;
use tsunagu_tests::bench_args;
use tsunagu_tests::care::ACCESS_CONTEXT;
use tsunagu_tests::http_load::{self, Row, Target, load};

const USAGE: &str = "usage: bench-patient-read [--clients C] [--seconds S] [--warmup W]   (run through tests/bench/run patient-read)";

struct Args {
    clients: usize,
    seconds: u64,
    warmup: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        clients: 64,
        seconds: 15,
        warmup: 3,
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

/// Whether the platform's identity service records patient reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Recording {
    On,
    Off,
}

impl Recording {
    fn label(self) -> &'static str {
        match self {
            Self::On => "recorded",
            Self::Off => "NOT recorded",
        }
    }
}

/// A measured case and the access records its timed window left.
struct Measured {
    route: &'static str,
    row: Row,
    recording: Recording,
    records: u64,
    /// The machine's 1-minute load average when the window closed: on a shared machine,
    /// whether something else ran beside the benchmark.
    load: f64,
    /// Which process spent the CPUs over the window.
    cpu: tsunagu_tests::cpu::CpuShare,
    /// Mean time a request spent in the identity service (its NATS service stats).
    service: Option<Duration>,
}

/// The 1-minute load average (NaN where `/proc/loadavg` is not there).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A platform with the patient, the consent and the nurse on the team; answers the
/// platform and the nurse's reads.
async fn patient_platform(extra: &[(&str, &str)]) -> anyhow::Result<(Platform, Vec<Target>)> {
    use tsunagu_tests::accounts::{IZUMO, start_with};
    use tsunagu_tests::care::{
        PatientForm, add_seat, consent_form, grant_consent, listed_sites, professional,
        register_patient, secretariat, site_of_kind,
    };
    let (p, clock) = start_with(extra).await?;
    let office = site_of_kind(
        &p,
        IZUMO,
        "計測居宅介護支援事業所",
        "care_management_office",
        &["43"],
    )
    .await?;
    let nursing = site_of_kind(
        &p,
        IZUMO,
        "計測訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let care_manager = professional(&p, &clock, "bench.cm", "care_manager", &office, IZUMO).await?;
    let nurse = professional(&p, &clock, "bench.nurse", "nurse", &nursing, IZUMO).await?;
    let city = secretariat(&p, &clock, "bench.sec", IZUMO).await?;
    let patient = register_patient(
        &p,
        &care_manager,
        &PatientForm::new("bench", IZUMO),
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
    let read = |path: String| Target {
        url: p.url(&path),
        bearer: Some(nurse.token.clone()),
    };
    let targets = vec![
        read(format!("/api/v1/patients/{patient}")),
        read(format!(
            "/api/v1/patients/{patient}/record?categories=care_records&purpose=care"
        )),
    ];
    Ok((p, targets))
}

/// The access stream's last sequence (the stream denies deletes: its message count).
async fn access_stream_last(store: &event_store::JetStreamStore) -> anyhow::Result<u64> {
    store
        .last_sequence(ACCESS_CONTEXT)
        .await
        .context("reading the access stream's last sequence")
}

/// Every route on one platform, each after its warm-up, counting the access records of
/// each timed window.
async fn measure(
    http: &reqwest::Client,
    recording: Recording,
    args: &Args,
    routes: &[&'static str],
) -> anyhow::Result<Vec<Measured>> {
    let unrecorded;
    let extra: &[(&str, &str)] = match recording {
        Recording::On => &[],
        Recording::Off => {
            unrecorded = std::env::var("TSUNAGU_BENCH_UNRECORDED_IDENTITY").map_err(|_| {
                anyhow::anyhow!(
                    "TSUNAGU_BENCH_UNRECORDED_IDENTITY is not set: run through tests/bench/run patient-read"
                )
            })?;
            &[
                ("TSUNAGU_TEST_IDENTITY_BINARY", unrecorded.as_str()),
                ("TSUNAGU_BENCH_UNRECORDED_READS", "1"),
            ]
        }
    };
    let (p, targets) = patient_platform(extra).await?;
    let store = event_store::JetStreamStore::new(
        p.nats.connect().await?,
        event_store::StoreConfig {
            namespace: p.namespace.clone(),
            ..Default::default()
        },
    )?;
    let watch = tsunagu_tests::cpu::platform_cpu(&p);
    let nats = p.nats.connect().await?;
    let mut measured = Vec::new();
    for (&route, target) in routes.iter().zip(&targets) {
        let case = format!("{route}, {}", recording.label());
        if args.warmup > 0 {
            let _ = load(
                http,
                &case,
                target,
                args.clients,
                Duration::from_secs(args.warmup),
            )
            .await;
        }
        // `load` returns once every request it sent is answered, and a read is recorded
        // before it is answered: the difference is this window's records, no more, no less.
        let before = access_stream_last(&store).await?;
        let cpu_before = watch.read();
        let stats = tsunagu_tests::cpu::endpoint_times(&nats, "identity").await?;
        let row = load(
            http,
            &case,
            target,
            args.clients,
            Duration::from_secs(args.seconds),
        )
        .await;
        let cpu = watch.between(&cpu_before, &watch.read());
        let service = tsunagu_tests::cpu::busiest(
            &stats,
            &tsunagu_tests::cpu::endpoint_times(&nats, "identity").await?,
        )
        .map(|(_, _, t)| t);
        let records = access_stream_last(&store).await? - before;
        let load = load_average();
        if row.errors > 0 {
            eprintln!(
                "{case}: {} errors\n--- identity ---\n{}\n--- gateway ---\n{}",
                row.errors,
                p.identity.log_tail(10),
                p.gateway.log_tail(10)
            );
        }
        measured.push(Measured {
            route,
            row,
            recording,
            records,
            load,
            cpu,
            service,
        });
    }
    Ok(measured)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let profile = std::env::var("TSUNAGU_TEST_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    if profile != "release" {
        bail!(
            "TSUNAGU_TEST_PROFILE is {profile:?}, not \"release\": figures of a debug build mean \
             nothing; run through tests/bench/run patient-read"
        );
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let Args {
        clients,
        seconds,
        warmup,
    } = args;
    println!(
        "patient reads by a nurse on the team: {profile} binaries; {cpus} CPUs shared by the load \
         generator, the gateway, identity, audit, nats-server and PostgreSQL"
    );
    println!(
        "{clients} clients, one request in flight each; one reqwest client, pool of {clients}, \
         keep-alive on; {warmup} s warm-up then {seconds} s per case; rate limits off; \
         PostgreSQL fsync on, nats-server sync_interval: always"
    );
    let http = http_load::client(clients)?;
    let routes = [
        "GET /api/v1/patients/{id}",
        "GET /api/v1/patients/{id}/record",
    ];
    let mut cases = measure(&http, Recording::On, &args, &routes).await?;
    cases.extend(measure(&http, Recording::Off, &args, &routes).await?);

    println!();
    println!(
        "{:<50} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9} {:>6}",
        "case", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors", "recorded", "load"
    );
    for c in &cases {
        let r = &c.row;
        println!(
            "{:<50} {:>9} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>9} {:>6.2}",
            r.case,
            r.requests(),
            r.per_s(),
            r.percentile_ms(0.50),
            r.percentile_ms(0.90),
            r.percentile_ms(0.99),
            r.errors,
            c.records,
            c.load
        );
    }
    println!();
    println!("where the CPUs went, per request answered:");
    for c in &cases {
        println!(
            "  {:<50} {}",
            c.row.case,
            c.cpu.per_request(c.row.requests())
        );
    }
    println!();
    println!(
        "time in the identity service per request (NATS service stats, queueing for a handler included):"
    );
    for c in &cases {
        let mean = c.row.latencies.iter().sum::<Duration>().as_secs_f64() * 1e3
            / c.row.latencies.len().max(1) as f64;
        if let Some(t) = c.service {
            println!(
                "  {:<50} {:.2} ms in identity; client mean {mean:.2} ms (gateway + bus {:.2} ms)",
                c.row.case,
                t.as_secs_f64() * 1e3,
                mean - t.as_secs_f64() * 1e3
            );
        }
    }
    println!();
    for route in routes {
        let case = |recording| {
            cases
                .iter()
                .find(|c| c.route == route && c.recording == recording)
                .map(|c| &c.row)
        };
        if let (Some(a), Some(b)) = (case(Recording::On), case(Recording::Off)) {
            println!(
                "{route}: recording adds {:+.2} ms at p50, {:+.2} ms at p99; {:.1} against {:.1} req/s",
                a.percentile_ms(0.50) - b.percentile_ms(0.50),
                a.percentile_ms(0.99) - b.percentile_ms(0.99),
                a.per_s(),
                b.per_s()
            );
        }
    }
    let round = |x: f64, places: i32| {
        let f = 10f64.powi(places);
        (x * f).round() / f
    };
    let json = json!({
        "bench": "patient-read",
        "profile": profile,
        "cpus": cpus,
        "clients": clients,
        "seconds": seconds,
        "warmup_s": warmup,
        "cases": cases.iter().map(|c| json!({
            "case": c.row.case,
            "recorded": c.recording == Recording::On,
            "requests": c.row.requests(),
            "per_s": round(c.row.per_s(), 1),
            "p50_ms": round(c.row.percentile_ms(0.50), 3),
            "p90_ms": round(c.row.percentile_ms(0.90), 3),
            "p99_ms": round(c.row.percentile_ms(0.99), 3),
            "errors": c.row.errors,
            "access_records": c.records,
            "cpu_us_per_request": c.cpu.to_json(c.row.requests()),
            "service_ms": c.service.map(|t| (t.as_secs_f64() * 1e6).round() / 1e3),
            "load_1m": c.load,
        })).collect::<Vec<_>>(),
    });
    println!();
    println!("{json}");

    let mut failures = Vec::new();
    for c in &cases {
        let r = &c.row;
        if r.errors > 0 {
            failures.push(format!(
                "{}: {} of {} requests failed, e.g. {:?}",
                r.case,
                r.errors,
                r.requests(),
                r.shown
            ));
        }
        let expected = match c.recording {
            Recording::On => r.requests() as u64,
            Recording::Off => 0,
        };
        // With errors the count is not exact (a request that got no answer may or may not
        // have been recorded); the errors already fail the run.
        if r.errors == 0 && c.records != expected {
            failures.push(format!(
                "{}: {} access records for {} requests, expected {expected}",
                r.case,
                c.records,
                r.requests()
            ));
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    if std::env::var_os("TSUNAGU_NATS_SERVER").is_none() {
        bail!("TSUNAGU_NATS_SERVER is not set: run through tests/bench/run patient-read");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // On a signal the run is dropped, and with it the platforms' processes and databases.
    tokio::select! {
        result = run(args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = term.recv() => bail!("terminated"),
    }
}
