//! bench-lag: from an append to its row visible in a live projection, at a steady rate.
//!
//! A private nats-server (`sync_interval: always`) and the run's PostgreSQL (fsync on); a
//! live `ProjectionRunner` of identity's `care` projection (the one patient reads wait for)
//! following the identity stream. A load generator appends a running region's identity
//! events (`tests/support/identity_mix.rs`) at R events/s (default 1,000), each submitted on
//! its tick without waiting for the one before (as many services appending at once would),
//! for S seconds after a warm-up. A reader polls the projection's checkpoint (committed with
//! the rows, so a row is visible exactly when its event's sequence is at or below it) and
//! notes when each sequence became visible. Lag = visible − submitted, per event: p50, p99,
//! max; beside it the append's own latency (until the fsynced acknowledgement), the floor.
//!
//! Run it through `tests/bench/run lag [--rate R] [--seconds S] [--warmup W]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use identity::projections::care::Care;
use projection_runner::ProjectionRunner;
use serde_json::json;
use testkit::{Nats, TestDb, namespace};
use tokio::sync::Mutex;
use tsunagu_tests::bench_args;
use tsunagu_tests::identity_mix::identity_events;

const USAGE: &str =
    "usage: bench-lag [--rate R] [--seconds S] [--warmup W]   (run through tests/bench/run lag)";

struct Args {
    rate: u64,
    seconds: u64,
    warmup: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        rate: 1_000,
        seconds: 20,
        warmup: 3,
    };
    for (name, value) in bench_args::flags(USAGE)? {
        match name.as_str() {
            "--rate" => parsed.rate = bench_args::number(&name, &value, 1)?,
            "--seconds" => parsed.seconds = bench_args::number(&name, &value, 1)?,
            "--warmup" => parsed.warmup = bench_args::number(&name, &value, 0)?,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(parsed)
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args {
        rate,
        seconds,
        warmup,
    } = args()?;
    for var in ["TSUNAGU_NATS_SERVER", "TSUNAGU_TEST_DATABASE_URL"] {
        if std::env::var_os(var).is_none() {
            bail!("{var} is not set: run through tests/bench/run");
        }
    }
    let nats = Nats::start().await?;
    let db = TestDb::create().await?;
    let pool = db.pool()?;
    let store = tsunagu_tests::tally_store(&nats.url, &namespace()).await?;
    store.ensure_stream(identity_api::CONTEXT).await?;
    let total = (rate * (seconds + warmup)) as usize;
    let events = identity_events(total, 14);

    let runner = ProjectionRunner::new(Arc::new(Care), pool.clone(), store.clone());
    runner.migrate().await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let live = tokio::spawn({
        let mut stopped = stopped.clone();
        async move {
            runner
                .run(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        }
    });

    // The reader: when did each sequence become visible?
    let visible: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; total + 1]));
    let reader = tokio::spawn({
        let (pool, visible, mut stopped) = (pool.clone(), visible.clone(), stopped.clone());
        async move {
            let client = pool.get().await?;
            let statement = client
                .prepare("SELECT position FROM care._checkpoint")
                .await?;
            let mut seen = 0usize;
            loop {
                let at: i64 = client.query_one(&statement, &[]).await?.get(0);
                let now = Instant::now();
                let at = (at.max(0) as usize).min(total);
                if at > seen {
                    let mut v = visible.lock().await;
                    for slot in &mut v[seen + 1..=at] {
                        *slot = Some(now);
                    }
                    seen = at;
                }
                if seen == total || *stopped.borrow_and_update() {
                    return anyhow::Ok(());
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });

    println!(
        "care projection, live; {rate} identity events/s for {warmup} s warm-up + {seconds} s; \
         nats-server sync_interval: always, PostgreSQL fsync on"
    );
    let mut submitted: Vec<Instant> = Vec::with_capacity(total);
    let mut acks = Vec::with_capacity(total);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    for event in &events {
        tick.tick().await;
        let t = Instant::now();
        let pending = store
            .submit(
                identity_api::CONTEXT,
                event_store::ExpectedVersion::Any,
                event,
            )
            .await
            .context("submitting")?;
        submitted.push(t);
        acks.push(tokio::spawn(async move {
            let appended = pending.acknowledged().await;
            (appended, t.elapsed())
        }));
    }
    let offered = total as f64 / started.elapsed().as_secs_f64();
    let mut append_latency = Vec::with_capacity(total);
    for (i, ack) in acks.into_iter().enumerate() {
        let (appended, latency) = ack.await?;
        let sequence = appended.context("an append failed")?.position.sequence;
        if sequence != i as u64 + 1 {
            bail!("event #{i} was stored at {sequence}: the stream is not this run's alone");
        }
        append_latency.push(latency);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while visible.lock().await[total].is_none() {
        if Instant::now() > deadline {
            bail!("the projection did not catch up within 2 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    reader.await??;
    live.await??;

    let skip = (rate * warmup) as usize;
    let visible = visible.lock().await;
    let mut lag: Vec<Duration> = (skip..total)
        .filter_map(|i| visible[i + 1].map(|v| v.saturating_duration_since(submitted[i])))
        .collect();
    lag.sort_unstable();
    let mut append: Vec<Duration> = append_latency[skip..].to_vec();
    append.sort_unstable();
    let dead = projection_runner::dead_letters(&pool, "care").await?.len();
    println!();
    println!(
        "{:<34} {:>8} {:>9} {:>8} {:>8} {:>8}",
        "measure", "events", "events/s", "p50 ms", "p99 ms", "max ms"
    );
    println!(
        "{:<34} {:>8} {:>9.0} {:>8.2} {:>8.2} {:>8.2}",
        "append → row visible (care)",
        lag.len(),
        offered,
        percentile(&lag, 0.5),
        percentile(&lag, 0.99),
        percentile(&lag, 1.0)
    );
    println!(
        "{:<34} {:>8} {:>9.0} {:>8.2} {:>8.2} {:>8.2}",
        "append → fsynced ack (the floor)",
        append.len(),
        offered,
        percentile(&append, 0.5),
        percentile(&append, 0.99),
        percentile(&append, 1.0)
    );
    println!("(goal: p99 ≤ 25 ms at 1,000 events/s; {dead} events parked)");
    let json = json!({
        "bench": "lag",
        "rate": rate,
        "offered_events_per_s": offered.round(),
        "seconds": seconds,
        "events": lag.len(),
        "lag_p50_ms": (percentile(&lag, 0.5) * 100.0).round() / 100.0,
        "lag_p99_ms": (percentile(&lag, 0.99) * 100.0).round() / 100.0,
        "lag_max_ms": (percentile(&lag, 1.0) * 100.0).round() / 100.0,
        "append_p50_ms": (percentile(&append, 0.5) * 100.0).round() / 100.0,
        "append_p99_ms": (percentile(&append, 0.99) * 100.0).round() / 100.0,
        "parked": dead,
    });
    println!();
    println!("{json}");
    if dead > 0 {
        bail!("{dead} events parked");
    }
    Ok(())
}
