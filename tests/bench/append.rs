//! bench-append: what an append costs on a nats-server that fsyncs every write.
//!
//! Four cases in one run, each on a fresh stream of its own (a fresh namespace) of one
//! private nats-server with `sync_interval: always`, each after a short warm-up:
//! raw JetStream publish vs. the event store's conditional append
//! (`Nats-Expected-Last-Subject-Sequence` per aggregate, over 1,000 aggregates), one at a
//! time and with 256 in flight. Latency is per append, from send to acknowledgement.
//!
//! Run it through `tests/bench/run append [--events N]`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use event_store::{EventStore, ExpectedVersion, JetStreamStore};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::json;
use testkit::{Nats, namespace};
use tsunagu_tests::{TALLY_CONTEXT, event, tally_store};

/// Aggregates the events are spread over, round-robin.
const AGGREGATES: usize = 1_000;
/// Appends in flight in the pipelined cases.
const WINDOW: usize = 256;
/// Events sent (untimed) before each case: one per aggregate, so every timed conditional
/// append checks a real sequence.
const WARMUP: usize = 1_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `jetstream::Context::publish`, no headers.
    Raw,
    /// `JetStreamStore::submit` + `acknowledged` with `ExpectedVersion` per aggregate.
    Conditional,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Raw => "raw publish",
            Kind::Conditional => "conditional append",
        }
    }
}

/// Sends events of one case and remembers each aggregate's last sequence.
struct Writer {
    kind: Kind,
    store: JetStreamStore,
    js: async_nats::jetstream::Context,
    last: Vec<u64>,
    in_flight: Vec<bool>,
}

type Ack = BoxFuture<'static, anyhow::Result<u64>>;

impl Writer {
    async fn new(kind: Kind, nats_url: &str) -> anyhow::Result<Self> {
        let store = tally_store(nats_url, &namespace()).await?;
        let js = async_nats::jetstream::new(store.client().clone());
        Ok(Self {
            kind,
            store,
            js,
            last: vec![0; AGGREGATES],
            in_flight: vec![false; AGGREGATES],
        })
    }

    /// Sends one event to aggregate `agg`; the future resolves to its stream sequence.
    async fn send(&mut self, agg: usize) -> anyhow::Result<Ack> {
        if self.in_flight[agg] {
            bail!("aggregate {agg} already has an append in flight");
        }
        let id = aggregate_id(agg);
        let envelope = event("Counted", &id, json!({ "by": 1 }));
        self.in_flight[agg] = true;
        match self.kind {
            Kind::Raw => {
                let subject = self.store.subject(TALLY_CONTEXT, "counter", &id);
                let body = serde_json::to_vec(&envelope)?;
                let ack = self.js.publish(subject, body.into()).await?;
                Ok(Box::pin(async move { Ok(ack.await?.sequence) }))
            }
            Kind::Conditional => {
                let expected = ExpectedVersion::from_loaded(self.last[agg]);
                let pending = self
                    .store
                    .submit(TALLY_CONTEXT, expected, &envelope)
                    .await?;
                Ok(Box::pin(async move {
                    Ok(pending.acknowledged().await?.position.sequence)
                }))
            }
        }
    }

    fn done(&mut self, agg: usize, sequence: u64) {
        self.in_flight[agg] = false;
        self.last[agg] = sequence;
    }

    /// One event at a time; returns the wall time and each append's latency.
    async fn one_at_a_time(
        &mut self,
        n: usize,
        first: usize,
    ) -> anyhow::Result<(Duration, Vec<Duration>)> {
        let mut latencies = Vec::with_capacity(n);
        let started = Instant::now();
        for k in first..first + n {
            let agg = k % AGGREGATES;
            let t = Instant::now();
            let sequence = if self.kind == Kind::Conditional {
                // EventStore::append is submit + acknowledged, as in a service.
                let envelope = event("Counted", &aggregate_id(agg), json!({ "by": 1 }));
                let expected = ExpectedVersion::from_loaded(self.last[agg]);
                self.in_flight[agg] = true;
                self.store
                    .append(TALLY_CONTEXT, expected, envelope)
                    .await
                    .with_context(|| format!("append #{k}"))?
                    .position
                    .sequence
            } else {
                let ack = self.send(agg).await?;
                ack.await.with_context(|| format!("append #{k}"))?
            };
            latencies.push(t.elapsed());
            self.done(agg, sequence);
        }
        Ok((started.elapsed(), latencies))
    }

    /// `WINDOW` events in flight; returns the wall time and each append's latency.
    async fn pipelined(
        &mut self,
        n: usize,
        first: usize,
    ) -> anyhow::Result<(Duration, Vec<Duration>)> {
        type Done = (usize, usize, anyhow::Result<u64>, Duration);
        let mut latencies = Vec::with_capacity(n);
        let mut pending: FuturesUnordered<BoxFuture<'static, Done>> = FuturesUnordered::new();
        let started = Instant::now();
        let mut k = first;
        while k < first + n || !pending.is_empty() {
            let agg = k % AGGREGATES;
            // Wait while the window is full or (never with round-robin over 1,000
            // aggregates and 256 in flight, but made sure of) the aggregate is in flight.
            let must_wait = k >= first + n || pending.len() >= WINDOW || self.in_flight[agg];
            if must_wait {
                let Some((agg, k, result, latency)) = pending.next().await else {
                    bail!("no append in flight to wait for");
                };
                let sequence = result.with_context(|| format!("append #{k}"))?;
                latencies.push(latency);
                self.done(agg, sequence);
                continue;
            }
            let t = Instant::now();
            let ack = self.send(agg).await?;
            pending.push(Box::pin(async move {
                let result = ack.await;
                (agg, k, result, t.elapsed())
            }));
            k += 1;
        }
        Ok((started.elapsed(), latencies))
    }
}

fn aggregate_id(i: usize) -> String {
    format!("a{i:04}")
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
    kind: Kind,
    window: usize,
    events: usize,
    per_s: f64,
    p50: f64,
    p99: f64,
}

async fn run_case(nats_url: &str, kind: Kind, window: usize, n: usize) -> anyhow::Result<Row> {
    let mut writer = Writer::new(kind, nats_url).await?;
    let (elapsed, mut latencies) = if window == 1 {
        writer.one_at_a_time(WARMUP, 0).await?;
        writer.one_at_a_time(n, WARMUP).await?
    } else {
        writer.pipelined(WARMUP, 0).await?;
        writer.pipelined(n, WARMUP).await?
    };
    let stored = writer.store.last_sequence(TALLY_CONTEXT).await?;
    if stored != (WARMUP + n) as u64 {
        bail!(
            "{}: the stream holds {stored} events, expected {}",
            kind.label(),
            WARMUP + n
        );
    }
    latencies.sort_unstable();
    Ok(Row {
        kind,
        window,
        events: n,
        per_s: n as f64 / elapsed.as_secs_f64(),
        p50: percentile_ms(&latencies, 0.50),
        p99: percentile_ms(&latencies, 0.99),
    })
}

/// `--events N` (or `--events=N`), if given.
fn events_arg() -> anyhow::Result<Option<usize>> {
    let mut args = std::env::args().skip(1);
    let mut events = None;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--events" => args.next().context("--events needs a number")?,
            a if a.starts_with("--events=") => a["--events=".len()..].to_owned(),
            "-h" | "--help" => {
                println!("usage: bench-append [--events N]   (run through tests/bench/run append)");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; usage: bench-append [--events N]"),
        };
        let n: usize = value
            .replace(['_', ','], "")
            .parse()
            .with_context(|| format!("--events {value:?} is not a number"))?;
        if n == 0 {
            bail!("--events must be at least 1");
        }
        events = Some(n);
    }
    Ok(events)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events = events_arg()?;
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
    println!(
        "{AGGREGATES} aggregates round-robin, {WARMUP} warm-up events per case, a fresh stream per case"
    );

    let cases = [
        (Kind::Raw, 1, events.unwrap_or(5_000)),
        (Kind::Conditional, 1, events.unwrap_or(5_000)),
        (Kind::Raw, WINDOW, events.unwrap_or(20_000)),
        (Kind::Conditional, WINDOW, events.unwrap_or(20_000)),
    ];
    println!();
    println!(
        "{:<20} {:>9} {:>8} {:>10} {:>8} {:>8}",
        "case", "in flight", "events", "events/s", "p50 ms", "p99 ms"
    );
    let mut rows = Vec::new();
    for (kind, window, n) in cases {
        let row = run_case(&nats.url, kind, window, n).await?;
        println!(
            "{:<20} {:>9} {:>8} {:>10.0} {:>8.3} {:>8.3}",
            row.kind.label(),
            row.window,
            row.events,
            row.per_s,
            row.p50,
            row.p99
        );
        rows.push(row);
    }
    let json = json!({
        "bench": "append",
        "nats_server": version,
        "sync_always": sync_always,
        "aggregates": AGGREGATES,
        "warmup": WARMUP,
        "cases": rows.iter().map(|r| json!({
            "case": r.kind.label(),
            "in_flight": r.window,
            "events": r.events,
            "events_per_s": (r.per_s * 10.0).round() / 10.0,
            "p50_ms": (r.p50 * 1e3).round() / 1e3,
            "p99_ms": (r.p99 * 1e3).round() / 1e3,
        })).collect::<Vec<_>>(),
    });
    println!();
    println!("{json}");
    Ok(())
}
