//! bench-rebuild: how fast projections replay their streams, next to the fastest way
//! Postgres takes the same events (COPY), in the same run.
//!
//! For each projection — the tally test projection (1,000 counters), identity's `register`
//! and `care` (a running region's stream: sign-ins, patients with consents and teams,
//! documents, staff and directory changes, from `tests/support/identity_mix.rs`) and the
//! audit chain (the collector's copies of access records and security events) — on a
//! private nats-server (`sync_interval: always`) and the run's PostgreSQL (fsync on):
//! 1. **live catch-up**: half the events are appended and a live runner
//!    (`ProjectionRunner::run`) applies them; it is stopped (a pause) while the other half
//!    is appended, then started again: the time until its checkpoint reaches the end;
//! 2. **rebuild**: `ProjectionRunner::rebuild` of the whole stream into a fresh schema;
//! 3. **COPY**: the same events, one row per event (event_id, position, aggregate_id,
//!    envelope jsonb), binary COPY into a fresh table;
//!
//! and prints events/s of each and the ratios to COPY. The identity stream is shared by
//! register and care (each reads all of it, as in the service).
//!
//! Run it through `tests/bench/run rebuild [--events N] [--projections tally,register,care,audit]`.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use event_store::{EventEnvelope, JetStreamStore};
use projection_runner::{Projection, ProjectionRunner};
use serde_json::json;
use testkit::{Nats, TestDb, namespace};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tsunagu_tests::cpu::{CpuShare, CpuWatch};
use tsunagu_tests::identity_mix::{audit_events, identity_events};
use tsunagu_tests::{append_all, bench_args, event, tally_store};

const USAGE: &str = "usage: bench-rebuild [--events N] [--projections tally,register,care,audit]   (run through tests/bench/run rebuild)";
const AGGREGATES: usize = 1_000;
const WINDOW: usize = 256;
const SEED: u64 = 14;

struct Args {
    events: usize,
    projections: Vec<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        events: 100_000,
        projections: ["tally", "register", "care", "audit"]
            .map(str::to_owned)
            .to_vec(),
    };
    for (name, value) in bench_args::flags(USAGE)? {
        match name.as_str() {
            "--events" => parsed.events = bench_args::number(&name, &value, 2)? as usize,
            "--projections" => {
                parsed.projections = value.split(',').map(|s| s.trim().to_owned()).collect();
                for p in &parsed.projections {
                    if !["tally", "register", "care", "audit"].contains(&p.as_str()) {
                        bail!("unknown projection {p:?}; {USAGE}");
                    }
                }
            }
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(parsed)
}

/// One measured projection.
struct Row {
    projection: &'static str,
    events: usize,
    catch_up: Duration,
    catch_up_events: u64,
    rebuild: projection_runner::RebuildReport,
    copy: Duration,
    /// CPU spent by this process (the runner), nats-server and PostgreSQL over the rebuild
    /// and over the COPY: on a shared machine, what each costs whatever else runs.
    rebuild_cpu: CpuShare,
    copy_cpu: CpuShare,
}

impl Row {
    fn rebuild_per_s(&self) -> f64 {
        self.rebuild.outcome.applied as f64 / self.rebuild.elapsed.as_secs_f64()
    }
    fn catch_up_per_s(&self) -> f64 {
        self.catch_up_events as f64 / self.catch_up.as_secs_f64()
    }
    fn copy_per_s(&self) -> f64 {
        self.events as f64 / self.copy.as_secs_f64()
    }
}

/// COPYs the events into a fresh table; returns the time the COPY took.
async fn copy(
    client: &tokio_postgres::Client,
    events: &[(EventEnvelope, u64)],
) -> anyhow::Result<Duration> {
    client
        .batch_execute(
            "DROP TABLE IF EXISTS bench_copy;
             CREATE TABLE bench_copy (event_id uuid PRIMARY KEY, position bigint NOT NULL,
                                      aggregate_id text NOT NULL, envelope jsonb NOT NULL);",
        )
        .await?;
    let started = Instant::now();
    let sink = client
        .copy_in("COPY bench_copy (event_id, position, aggregate_id, envelope) FROM STDIN BINARY")
        .await?;
    let mut writer = pin!(BinaryCopyInWriter::new(
        sink,
        &[Type::UUID, Type::INT8, Type::TEXT, Type::JSONB],
    ));
    for (envelope, sequence) in events {
        let position = i64::try_from(*sequence)?;
        let row: [&(dyn ToSql + Sync); 4] = [
            &envelope.event_id,
            &position,
            &envelope.aggregate_id,
            &Json(envelope),
        ];
        writer.as_mut().write(&row).await?;
    }
    let rows = writer.as_mut().finish().await?;
    let elapsed = started.elapsed();
    if rows != events.len() as u64 {
        bail!("COPY stored {rows} rows, expected {}", events.len());
    }
    Ok(elapsed)
}

/// Appends the events (in order, `WINDOW` in flight) and answers them with their sequences.
async fn load(
    store: &JetStreamStore,
    context: &str,
    events: Vec<EventEnvelope>,
    first: u64,
) -> anyhow::Result<Vec<(EventEnvelope, u64)>> {
    let started = Instant::now();
    let last = append_all(store, context, &events, WINDOW).await?;
    let n = events.len() as u64;
    if last != first + n - 1 {
        bail!("the stream ends at {last}, expected {}", first + n - 1);
    }
    println!(
        "  appended {n} events to {context} in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(events
        .into_iter()
        .zip(first..)
        .collect::<Vec<(EventEnvelope, u64)>>())
}

/// Catch-up after a pause, rebuild and COPY of one projection over `events`, on a stream
/// of its own (a fresh namespace): the first half is appended and applied live, then the
/// runner is stopped while the second half is appended, then started again.
async fn measure<P: Projection>(
    label: &'static str,
    projection: Arc<P>,
    pool: &deadpool_postgres::Pool,
    nats: &Nats,
    events: Vec<EventEnvelope>,
) -> anyhow::Result<Row> {
    let nats_url = nats.url.as_str();
    let watch = CpuWatch::new()
        .add("runner", [std::process::id()])
        .add("nats-server", [nats.pid()])
        .with_postgres();
    let context = projection.context();
    let store = tally_store(nats_url, &namespace()).await?;
    store.ensure_stream(context).await?;
    let mut first = events;
    let second = first.split_off(first.len() / 2);
    let half = first.len() as u64;
    let first = load(&store, context, first, 1).await?;

    let schema = projection.name();
    let live = ProjectionRunner::new(projection.clone(), pool.clone(), store.clone());
    live.migrate().await?;
    let run = |live: ProjectionRunner<P>| {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            live.run(async {
                let _ = stopped.await;
            })
            .await
        });
        (stop, task)
    };
    let (stop, task) = run(live);
    projection_runner::wait_for_position(pool, schema, half, Duration::from_secs(600)).await?;
    let _ = stop.send(());
    task.await??;
    println!("  {label}: live runner at {half}, paused; appending the rest");
    let second = load(&store, context, second, half + 1).await?;
    let end = half + second.len() as u64;
    let live = ProjectionRunner::new(projection.clone(), pool.clone(), store.clone());
    let started = Instant::now();
    let (stop, task) = run(live);
    projection_runner::wait_for_position(pool, schema, end, Duration::from_secs(600)).await?;
    let catch_up = started.elapsed();
    let _ = stop.send(());
    task.await??;
    println!(
        "  {label}: caught up {} events in {:.2} s; rebuilding",
        end - half,
        catch_up.as_secs_f64()
    );

    let before = watch.read();
    let rebuild = ProjectionRunner::new(projection, pool.clone(), store.clone())
        .in_schema(format!("{schema}_rebuild"))
        .rebuild()
        .await?;
    let rebuild_cpu = watch.between(&before, &watch.read());
    let events: Vec<(EventEnvelope, u64)> = first.into_iter().chain(second).collect();
    if rebuild.outcome.applied != events.len() as u64 || rebuild.outcome.parked != 0 {
        bail!(
            "{label}: the rebuild applied {} and parked {} of {} events",
            rebuild.outcome.applied,
            rebuild.outcome.parked,
            events.len()
        );
    }
    println!(
        "  {label}: rebuilt in {:.2} s; copying the same events",
        rebuild.elapsed.as_secs_f64()
    );
    let client = pool.get().await?;
    let before = watch.read();
    let copy = copy(&client, &events).await?;
    let copy_cpu = watch.between(&before, &watch.read());
    Ok(Row {
        rebuild_cpu,
        copy_cpu,
        projection: label,
        events: events.len(),
        catch_up,
        catch_up_events: end - half,
        rebuild,
        copy,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let n = args.events;
    for var in ["TSUNAGU_NATS_SERVER", "TSUNAGU_TEST_DATABASE_URL"] {
        if std::env::var_os(var).is_none() {
            bail!("{var} is not set: run through tests/bench/run");
        }
    }
    let _telemetry = telemetry::init("bench-rebuild");
    let nats = Nats::start().await?;
    let db = TestDb::create().await?;
    let pool = db.pool()?;
    let client = pool.get().await?;
    let mut settings = Vec::new();
    for name in ["server_version", "fsync", "synchronous_commit"] {
        let row = client.query_one(&format!("SHOW {name}"), &[]).await?;
        settings.push(format!("{name}={}", row.get::<_, String>(0)));
    }
    drop(client);
    let version = async_nats::connect(&nats.url).await?.server_info().version;
    println!(
        "nats-server {version} (sync_interval: always); PostgreSQL {}; {n} events per projection",
        settings.join(" ")
    );
    let wanted = |p: &str| args.projections.iter().any(|w| w == p);
    let mut rows = Vec::new();
    if wanted("tally") {
        println!("tally: Counted events over {AGGREGATES} counters");
        let events = (0..n)
            .map(|i| {
                event(
                    "Counted",
                    &format!("a{:04}", i % AGGREGATES),
                    json!({ "by": 1 }),
                )
            })
            .collect();
        rows.push(measure("tally", tsunagu_tests::tally(), &pool, &nats, events).await?);
    }
    if wanted("register") {
        println!("identity register: a running region's identity stream");
        let events = identity_events(n, SEED);
        let register = Arc::new(identity::projections::register::Register);
        rows.push(measure("identity register", register, &pool, &nats, events).await?);
    }
    if wanted("care") {
        println!("identity care: the same identity stream");
        let events = identity_events(n, SEED);
        let care = Arc::new(identity::projections::care::Care);
        rows.push(measure("identity care", care, &pool, &nats, events).await?);
    }
    if wanted("audit") {
        println!("audit chain: the collector's copies of access records and security events");
        let events = audit_events(n, SEED);
        let log = Arc::new(audit::log::Log {
            pseudonyms: audit::records::Pseudonyms::new([7; 32]),
        });
        rows.push(measure("audit chain", log, &pool, &nats, events).await?);
    }

    println!();
    println!(
        "{:<18} {:>8} {:>11} {:>8} {:>11} {:>11} {:>10} {:>10}",
        "projection",
        "events",
        "rebuild/s",
        "ev/txn",
        "catch-up/s",
        "COPY rows/s",
        "rebuild÷",
        "catch-up÷"
    );
    for r in &rows {
        println!(
            "{:<18} {:>8} {:>11.0} {:>8.1} {:>11.0} {:>11.0} {:>10.2} {:>10.2}",
            r.projection,
            r.events,
            r.rebuild_per_s(),
            r.rebuild.outcome.applied as f64 / r.rebuild.outcome.batches.max(1) as f64,
            r.catch_up_per_s(),
            r.copy_per_s(),
            r.rebuild_per_s() / r.copy_per_s(),
            r.catch_up_per_s() / r.copy_per_s(),
        );
    }
    println!("(÷: the ratio to COPY of the same events in this run; the goal is 0.6)");
    println!();
    println!("CPU per event, whatever else ran on the machine (µs; the runner is this process):");
    for r in &rows {
        println!(
            "  {:<18} rebuild: {}",
            r.projection,
            r.rebuild_cpu
                .per_request(r.events)
                .trim_start_matches("CPU µs/request: ")
        );
        println!(
            "  {:<18} COPY:    {}",
            "",
            r.copy_cpu
                .per_request(r.events)
                .trim_start_matches("CPU µs/request: ")
        );
    }
    let json = json!({
        "bench": "rebuild",
        "events": n,
        "cases": rows.iter().map(|r| json!({
            "projection": r.projection,
            "events": r.events,
            "rebuild_events_per_s": r.rebuild_per_s().round(),
            "rebuild_transactions": r.rebuild.outcome.batches,
            "catch_up_events": r.catch_up_events,
            "catch_up_events_per_s": r.catch_up_per_s().round(),
            "copy_rows_per_s": r.copy_per_s().round(),
            "rebuild_over_copy": (r.rebuild_per_s() / r.copy_per_s() * 100.0).round() / 100.0,
            "catch_up_over_copy": (r.catch_up_per_s() / r.copy_per_s() * 100.0).round() / 100.0,
            "rebuild_cpu_us_per_event": r.rebuild_cpu.to_json(r.events),
            "copy_cpu_us_per_event": r.copy_cpu.to_json(r.events),
        })).collect::<Vec<_>>(),
    });
    println!();
    println!("{json}");
    Ok(())
}
