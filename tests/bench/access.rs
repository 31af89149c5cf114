//! bench-access: recording `AccessRecorded` events with group commit against one append
//! per event, on a nats-server that fsyncs every write.
//!
//! N concurrent requesters (1, 16, 64, 256 by default) each record events one after the
//! other, as request handlers would: every call waits until its event is stored. Three ways:
//! `GroupCommit::record` as configured by default (groups of 16 or more as atomic batches,
//! smaller ones as single publishes in flight together), `GroupCommit::record` with every
//! group of two or more as an atomic batch, and `EventStore::append` with
//! `ExpectedVersion::Any` (one publish and acknowledgement per event). The payload is a realistic access record of about 400 bytes. Each case runs on
//! a fresh stream (a fresh namespace) of one private nats-server with
//! `sync_interval: always`, after an untimed warm-up. Latency is per event, from the call
//! to its return.
//!
//! Run it through `tests/bench/run access [--events N] [--requesters 1,16,64,256]`.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tsunagu_tests::bench_args;

use anyhow::{Context, bail};
use chrono::Utc;
use event_store::{
    Actor, EventEnvelope, EventStore, ExpectedVersion, GroupCommit, GroupCommitConfig,
    JetStreamStore, StoreConfig, Visibility,
};
use serde_json::json;
use testkit::{Nats, namespace};
use tokio::sync::Barrier;
use uuid::Uuid;

/// The context (and stream) access records go to.
const ACCESS: &str = "access";
/// Patients the records are spread over (one subject each).
const PATIENTS: usize = 1_000;
/// Untimed events before each case.
const WARMUP: usize = 500;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `GroupCommit` as configured by default: groups of 16 or more as atomic batches,
    /// smaller ones as single publishes in flight together.
    GroupCommit,
    /// `GroupCommit` writing every group of two or more as an atomic batch.
    GroupCommitAtomic,
    AppendEach,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::GroupCommit => "group commit",
            Mode::GroupCommitAtomic => "group, all atomic",
            Mode::AppendEach => "append per event",
        }
    }
}

/// How a requester records one event.
#[derive(Clone)]
enum Recorder {
    Group(GroupCommit),
    Append(JetStreamStore),
}

impl Recorder {
    async fn record(&self, event: EventEnvelope) -> anyhow::Result<()> {
        match self {
            Recorder::Group(g) => {
                g.record(event).await?;
            }
            Recorder::Append(s) => {
                s.append(ACCESS, ExpectedVersion::Any, event).await?;
            }
        }
        Ok(())
    }
}

/// One access record, as a service would write it for one patient of one request.
fn access_recorded(k: usize) -> EventEnvelope {
    let member = Uuid::now_v7();
    let patient = format!("p-{:06}", k % PATIENTS);
    let outcome_allowed = !k.is_multiple_of(10);
    let payload = json!({
        "member_id": member,
        "site_id": "s-141003-0042",
        "role": "visiting_nurse",
        "patient_id": patient,
        "categories": ["care_records", "medication"],
        "resources": [format!("care-record/{}", Uuid::now_v7()), format!("medication/{}", Uuid::now_v7())],
        "purpose": "care",
        "outcome": if outcome_allowed { "allowed" } else { "denied" },
        "reason": if outcome_allowed { "consent c-7f3a v3; team t-19c2" } else { "site not covered by consent c-7f3a v3" },
        "client_address": "203.0.113.42",
        "accessed_at": Utc::now(),
    });
    EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: "AccessRecorded".to_owned(),
        schema_version: 1,
        visibility: Visibility::Patient,
        municipality: Some("141003".to_owned()),
        aggregate_type: "patient".to_owned(),
        aggregate_id: patient,
        occurred_at: Utc::now(),
        actor: Actor(format!("member:{member}")),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        traceparent: None,
        payload,
    }
}

async fn fresh_store(nats_url: &str) -> anyhow::Result<JetStreamStore> {
    let client = async_nats::connect(nats_url).await?;
    let store = JetStreamStore::new(
        client,
        StoreConfig {
            namespace: namespace(),
            ..Default::default()
        },
    )?;
    store.ensure_stream(ACCESS).await?;
    Ok(store)
}

/// `requesters` tasks record `per_requester` events each; returns the wall time and every
/// event's latency.
async fn drive(
    recorder: &Recorder,
    requesters: usize,
    per_requester: usize,
    first: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let barrier = Arc::new(Barrier::new(requesters + 1));
    let mut tasks = Vec::with_capacity(requesters);
    for r in 0..requesters {
        let recorder = recorder.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_requester);
            barrier.wait().await;
            for i in 0..per_requester {
                let event = access_recorded(first + r * per_requester + i);
                let t = Instant::now();
                recorder.record(event).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(requesters * per_requester);
    for t in tasks {
        latencies.extend(t.await??);
    }
    Ok((started.elapsed(), latencies))
}

/// The nearest-rank percentile `q` (0..1] of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

struct Row {
    mode: Mode,
    requesters: usize,
    events: usize,
    per_s: f64,
    p50: f64,
    p99: f64,
    /// Group commit only: groups written, of which atomic batches, and events per group.
    batches: Option<(u64, u64, f64)>,
}

async fn run_case(
    nats_url: &str,
    mode: Mode,
    requesters: usize,
    n: usize,
    group: &GroupCommitConfig,
) -> anyhow::Result<Row> {
    let store = fresh_store(nats_url).await?;
    let recorder = match mode {
        Mode::GroupCommit => {
            Recorder::Group(GroupCommit::start(store.clone(), ACCESS, group.clone()))
        }
        Mode::GroupCommitAtomic => Recorder::Group(GroupCommit::start(
            store.clone(),
            ACCESS,
            GroupCommitConfig {
                atomic_from: 2,
                ..group.clone()
            },
        )),
        Mode::AppendEach => Recorder::Append(store.clone()),
    };
    let per_requester = n.div_ceil(requesters).max(1);
    let warm_per = WARMUP.div_ceil(requesters).max(1);
    drive(&recorder, requesters, warm_per, 0).await?;
    let before = match &recorder {
        Recorder::Group(g) => g.stats(),
        Recorder::Append(_) => Default::default(),
    };
    let (elapsed, mut latencies) =
        drive(&recorder, requesters, per_requester, requesters * warm_per).await?;
    let events = latencies.len();
    let stored = store.last_sequence(ACCESS).await?;
    let expected = (requesters * (warm_per + per_requester)) as u64;
    if stored != expected {
        bail!(
            "{} x{requesters}: the stream holds {stored} events, expected {expected}",
            mode.label()
        );
    }
    let batches = match &recorder {
        Recorder::Group(g) => {
            let after = g.stats();
            let b = after.batches - before.batches;
            let a = after.atomic_batches - before.atomic_batches;
            let e = after.events - before.events;
            Some((b, a, e as f64 / b.max(1) as f64))
        }
        Recorder::Append(_) => None,
    };
    latencies.sort_unstable();
    Ok(Row {
        mode,
        requesters,
        events,
        per_s: events as f64 / elapsed.as_secs_f64(),
        p50: percentile_ms(&latencies, 0.50),
        p99: percentile_ms(&latencies, 0.99),
        batches,
    })
}

struct Args {
    events: usize,
    requesters: Vec<usize>,
    group: GroupCommitConfig,
}

const USAGE: &str = "usage: bench-access [--events N] [--requesters 1,16,64,256] [--in-flight N] \
                     [--atomic-from N]   (run through tests/bench/run access)";

fn parse_count(value: &str, what: &str) -> anyhow::Result<usize> {
    let n: usize = value
        .replace(['_'], "")
        .parse()
        .with_context(|| format!("{what} {value:?} is not a number"))?;
    if n == 0 {
        bail!("{what} must be at least 1");
    }
    Ok(n)
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        events: 8_000,
        requesters: vec![1, 16, 64, 256],
        group: GroupCommitConfig::default(),
    };
    for (name, value) in bench_args::flags(USAGE)? {
        match name.as_str() {
            "--events" => parsed.events = parse_count(&value, "--events")?,
            "--requesters" => {
                parsed.requesters = value
                    .split(',')
                    .map(|v| parse_count(v.trim(), "--requesters"))
                    .collect::<anyhow::Result<_>>()?;
            }
            "--in-flight" => parsed.group.max_in_flight = parse_count(&value, "--in-flight")?,
            "--atomic-from" => parsed.group.atomic_from = parse_count(&value, "--atomic-from")?,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    if std::env::var_os("TSUNAGU_NATS_SERVER").is_none() {
        bail!("TSUNAGU_NATS_SERVER is not set: run through tests/bench/run");
    }
    let nats = Nats::start().await?;
    let client = nats.connect().await?;
    let version = client.server_info().version;
    let varz: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{}/varz", nats.monitor_port))
            .await?
            .error_for_status()?
            .json()
            .await
            .context("reading /varz")?;
    let sync_always = varz["jetstream"]["config"]["sync_always"].as_bool() == Some(true);
    drop(client);
    println!(
        "nats-server {version}, JetStream file storage, /varz jetstream.config.sync_always = {sync_always}"
    );
    if !sync_always {
        bail!("the nats-server does not fsync every write: figures would not be comparable");
    }
    let sample = access_recorded(0);
    let payload_bytes = serde_json::to_vec(&sample.payload)?.len();
    let envelope_bytes = serde_json::to_vec(&sample)?.len();
    println!(
        "AccessRecorded: payload {payload_bytes} B, envelope {envelope_bytes} B; {PATIENTS} patients; \
         {WARMUP} warm-up events per case, a fresh stream per case"
    );
    println!(
        "group commit: max {} per group, {} in flight, atomic batches from {} events",
        args.group.max_batch, args.group.max_in_flight, args.group.atomic_from
    );

    println!();
    println!(
        "{:<18} {:>10} {:>8} {:>10} {:>8} {:>8} {:>7} {:>7} {:>9}",
        "case",
        "requesters",
        "events",
        "events/s",
        "p50 ms",
        "p99 ms",
        "groups",
        "atomic",
        "per group"
    );
    let mut rows = Vec::new();
    for &requesters in &args.requesters {
        for mode in [Mode::GroupCommit, Mode::GroupCommitAtomic, Mode::AppendEach] {
            let row = run_case(&nats.url, mode, requesters, args.events, &args.group).await?;
            let (groups, atomic, per_group) = match row.batches {
                Some((b, a, m)) => (b.to_string(), a.to_string(), format!("{m:.1}")),
                None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
            };
            println!(
                "{:<18} {:>10} {:>8} {:>10.0} {:>8.3} {:>8.3} {:>7} {:>7} {:>9}",
                row.mode.label(),
                row.requesters,
                row.events,
                row.per_s,
                row.p50,
                row.p99,
                groups,
                atomic,
                per_group
            );
            rows.push(row);
        }
    }
    let json = json!({
        "bench": "access",
        "nats_server": version,
        "sync_always": sync_always,
        "payload_bytes": payload_bytes,
        "envelope_bytes": envelope_bytes,
        "warmup": WARMUP,
        "max_in_flight": args.group.max_in_flight,
        "atomic_from": args.group.atomic_from,
        "cases": rows.iter().map(|r| json!({
            "case": r.mode.label(),
            "requesters": r.requesters,
            "events": r.events,
            "events_per_s": (r.per_s * 10.0).round() / 10.0,
            "p50_ms": (r.p50 * 1e3).round() / 1e3,
            "p99_ms": (r.p99 * 1e3).round() / 1e3,
            "groups": r.batches.map(|b| b.0),
            "atomic_batches": r.batches.map(|b| b.1),
            "events_per_group": r.batches.map(|b| (b.2 * 10.0).round() / 10.0),
        })).collect::<Vec<_>>(),
    });
    println!();
    println!("{json}");
    Ok(())
}
