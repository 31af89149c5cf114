//! bench-rebuild: how fast a projection rebuild replays a stream, next to the fastest way
//! Postgres takes the same rows (COPY).
//!
//! Loads 100,000 `Counted` events over 1,000 aggregates into a fresh stream of a private
//! nats-server (`sync_interval: always`), then in the same run:
//! (a) `projection_runner::rebuild` of the tally projection into a fresh schema;
//! (b) a COPY of the same events, one row per event (event_id, position, aggregate_id,
//!     envelope jsonb), into a fresh table;
//! and prints events/s of each and their ratio. Postgres is the run's private cluster,
//! fsync on.
//!
//! Run it through `tests/bench/run rebuild [--events N]`.

use std::pin::pin;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use event_store::{EventEnvelope, ExpectedVersion};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::json;
use testkit::{Nats, TestDb, namespace};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tsunagu_tests::{TALLY_CONTEXT, event, tally, tally_store};

const AGGREGATES: usize = 1_000;
const WINDOW: usize = 256;
const PROGRESS_EVERY: usize = 10_000;
const SCHEMA: &str = "tally_rebuild";

/// `--events N` (or `--events=N`), if given.
fn events_arg() -> anyhow::Result<Option<usize>> {
    let mut args = std::env::args().skip(1);
    let mut events = None;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--events" => args.next().context("--events needs a number")?,
            a if a.starts_with("--events=") => a["--events=".len()..].to_owned(),
            "-h" | "--help" => {
                println!(
                    "usage: bench-rebuild [--events N]   (run through tests/bench/run rebuild)"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; usage: bench-rebuild [--events N]"),
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

/// Appends `n` events, `WINDOW` in flight, round-robin over the aggregates; returns each
/// event with its stream sequence, in the order appended.
async fn load(
    store: &event_store::JetStreamStore,
    n: usize,
) -> anyhow::Result<Vec<(EventEnvelope, u64)>> {
    type Done = (usize, Result<u64, event_store::AppendError>);
    let mut events: Vec<(EventEnvelope, u64)> = Vec::with_capacity(n);
    let mut pending: FuturesUnordered<BoxFuture<'static, Done>> = FuturesUnordered::new();
    let started = Instant::now();
    let mut acked = 0;
    while events.len() < n || !pending.is_empty() {
        if events.len() >= n || pending.len() >= WINDOW {
            let Some((i, result)) = pending.next().await else {
                bail!("no append in flight to wait for");
            };
            events[i].1 = result.with_context(|| format!("appending event #{i}"))?;
            acked += 1;
            if acked % PROGRESS_EVERY == 0 || acked == n {
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "  loaded {acked:>7}/{n} events ({:.0} events/s)",
                    acked as f64 / secs
                );
            }
            continue;
        }
        let i = events.len();
        let id = format!("a{:04}", i % AGGREGATES);
        let envelope = event("Counted", &id, json!({ "by": 1 }));
        let submitted = store
            .submit(TALLY_CONTEXT, ExpectedVersion::Any, &envelope)
            .await
            .with_context(|| format!("sending event #{i}"))?;
        pending.push(Box::pin(async move {
            (
                i,
                submitted.acknowledged().await.map(|a| a.position.sequence),
            )
        }));
        events.push((envelope, 0));
    }
    Ok(events)
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = events_arg()?.unwrap_or(100_000);
    for var in ["TSUNAGU_NATS_SERVER", "TSUNAGU_TEST_DATABASE_URL"] {
        if std::env::var_os(var).is_none() {
            bail!("{var} is not set: run through tests/bench/run");
        }
    }
    let nats = Nats::start().await?;
    let db = TestDb::create().await?;
    let pool = db.pool()?;
    let store = tally_store(&nats.url, &namespace()).await?;
    let client = pool.get().await?;
    let mut settings = Vec::new();
    for name in ["server_version", "fsync", "synchronous_commit"] {
        let row = client.query_one(&format!("SHOW {name}"), &[]).await?;
        settings.push(format!("{name}={}", row.get::<_, String>(0)));
    }
    println!(
        "nats-server {} (sync_interval: always); PostgreSQL {}",
        store.client().server_info().version,
        settings.join(" ")
    );

    println!("loading {n} Counted events over {AGGREGATES} aggregates, {WINDOW} in flight");
    let loaded = Instant::now();
    let events = load(&store, n).await?;
    let load_secs = loaded.elapsed().as_secs_f64();
    let last = store.last_sequence(TALLY_CONTEXT).await?;
    if last != n as u64 {
        bail!("the stream holds {last} events, expected {n}");
    }

    // (a) the projection runner's rebuild, with a progress line every 2 s.
    println!("rebuilding the tally projection into schema {SCHEMA}");
    let progress = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if let Ok(at) = projection_runner::checkpoint(&pool, SCHEMA).await {
                    println!(
                        "  rebuild at {at:>7}/{n} after {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        })
    };
    // Every write transaction takes a transaction id: their count shows the batch sizes.
    let xid = "SELECT pg_current_xact_id()::text::bigint";
    let xid_before: i64 = client.query_one(xid, &[]).await?.get(0);
    let report = projection_runner::rebuild(tally(), pool.clone(), store.clone(), SCHEMA).await;
    progress.abort();
    let report = report?;
    let transactions = client.query_one(xid, &[]).await?.get::<_, i64>(0) - xid_before - 1;
    let rebuild_per_s = report.outcome.applied as f64 / report.elapsed.as_secs_f64();
    let counted: i64 = client
        .query_one(
            &format!("SELECT coalesce(sum(applied), 0)::bigint FROM {SCHEMA}.tallies"),
            &[],
        )
        .await?
        .get(0);
    if report.outcome.applied != n as u64 || counted != n as i64 {
        bail!(
            "the rebuild applied {} events and counted {counted}, expected {n}",
            report.outcome.applied
        );
    }

    // (b) COPY of the same events, one row per event.
    println!("copying the same {n} events into table bench_copy (COPY ... BINARY)");
    let copy_elapsed = copy(&client, &events).await?;
    let copy_per_s = n as f64 / copy_elapsed.as_secs_f64();

    println!();
    println!(
        "load (pipelined, ExpectedVersion::Any): {n} events in {load_secs:.2} s = {:.0} events/s",
        n as f64 / load_secs
    );
    println!("rebuild report: {report:?}");
    println!(
        "rebuild wrote in {transactions} transactions (with its set-up): {:.1} events per transaction",
        n as f64 / transactions.max(1) as f64
    );
    println!(
        "{:<28} {:>8} {:>9} {:>10}",
        "operation", "rows", "seconds", "rows/s"
    );
    println!(
        "{:<28} {:>8} {:>9.2} {:>10.0}",
        "projection rebuild",
        report.outcome.applied,
        report.elapsed.as_secs_f64(),
        rebuild_per_s
    );
    println!(
        "{:<28} {:>8} {:>9.2} {:>10.0}",
        "Postgres COPY (binary)",
        n,
        copy_elapsed.as_secs_f64(),
        copy_per_s
    );
    println!(
        "COPY / rebuild = {:.2}x (the rebuild reaches {:.0}% of COPY's rate)",
        copy_per_s / rebuild_per_s,
        100.0 * rebuild_per_s / copy_per_s
    );
    let json = json!({
        "bench": "rebuild",
        "events": n,
        "aggregates": AGGREGATES,
        "load_events_per_s": (n as f64 / load_secs).round(),
        "rebuild": {
            "applied": report.outcome.applied,
            "duplicates": report.outcome.duplicates,
            "parked": report.outcome.parked,
            "checkpoint": report.outcome.checkpoint,
            "seconds": (report.elapsed.as_secs_f64() * 1e3).round() / 1e3,
            "events_per_s": rebuild_per_s.round(),
            "transactions": transactions,
        },
        "copy": {
            "rows": n,
            "seconds": (copy_elapsed.as_secs_f64() * 1e3).round() / 1e3,
            "rows_per_s": copy_per_s.round(),
        },
        "copy_over_rebuild": (copy_per_s / rebuild_per_s * 100.0).round() / 100.0,
    });
    println!();
    println!("{json}");
    drop(client);
    drop(pool);
    drop(db);
    Ok(())
}
