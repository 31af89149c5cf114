//! Atomic batches and group commit against a real nats-server (fsync always): every caller's
//! event stored once at the position it was told, batches really formed, all or nothing,
//! every caller of a failed write told so — never left hanging — and a batch stored twice
//! (retried after a lost acknowledgement) projected once, by event id.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use event_store::{
    AppendError, EVENT_ID_HEADER, EventEnvelope, EventStore, GroupCommit, GroupCommitConfig,
    GroupCommitError, JetStreamStore, MAX_BATCH,
};
use futures::StreamExt;
use projection_runner::{ProjectionRunner, checkpoint};
use testkit::{Nats, TestDb, namespace};
use tokio::sync::Barrier;
use tsunagu_tests::{TALLY_CONTEXT, event, tally, tally_store};

async fn store() -> anyhow::Result<(Nats, JetStreamStore)> {
    let nats = Nats::start().await?;
    let store = tally_store(&nats.url, &namespace()).await?;
    Ok((nats, store))
}

/// The envelope stored at `sequence` of `context`'s stream, and its `Tsunagu-Event-Id`.
async fn stored_at(
    store: &JetStreamStore,
    context: &str,
    sequence: u64,
) -> anyhow::Result<(EventEnvelope, Option<String>)> {
    let js = jetstream::new(store.client().clone());
    let stream = js.get_stream_no_info(store.stream_name(context)).await?;
    let message = stream.get_raw_message(sequence).await?;
    let header = message
        .headers
        .get(EVENT_ID_HEADER)
        .map(|v| v.as_str().to_owned());
    Ok((serde_json::from_slice(&message.payload)?, header))
}

fn quick_failures() -> GroupCommitConfig {
    GroupCommitConfig {
        commit_timeout: Duration::from_secs(1),
        ..Default::default()
    }
}

#[tokio::test]
async fn five_hundred_concurrent_records_are_each_stored_once_at_their_own_position()
-> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let group = GroupCommit::start(store.clone(), TALLY_CONTEXT, GroupCommitConfig::default());
    let callers = 500;
    let barrier = Arc::new(Barrier::new(callers));
    let mut tasks = Vec::new();
    for i in 0..callers {
        let group = group.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let e = event(
                "Counted",
                &format!("c{}", i % 7),
                serde_json::json!({ "i": i }),
            );
            let id = e.event_id;
            barrier.wait().await;
            (id, group.record(e).await)
        }));
    }
    let mut recorded = Vec::new();
    for t in tasks {
        let (id, result) = t.await?;
        recorded.push((id, result?));
    }

    let sequences: HashSet<u64> = recorded.iter().map(|(_, p)| p.sequence).collect();
    assert_eq!(
        sequences.len(),
        callers,
        "every caller has a position of its own"
    );
    assert_eq!(
        store.last_sequence(TALLY_CONTEXT).await?,
        callers as u64,
        "stored exactly once"
    );
    for (id, position) in &recorded {
        assert_eq!(position.stream, store.stream_name(TALLY_CONTEXT));
        let (stored, header) = stored_at(&store, TALLY_CONTEXT, position.sequence).await?;
        assert_eq!(
            &stored.event_id, id,
            "position {position} holds the caller's own event"
        );
        assert_eq!(
            header,
            Some(id.to_string()),
            "the event id travels in a header too"
        );
    }

    let stats = group.stats();
    assert_eq!((stats.events, stats.failed_events), (callers as u64, 0));
    assert!(
        stats.batches < callers as u64 && stats.mean_batch() > 1.0 && stats.atomic_batches >= 1,
        "batches were formed: {stats:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_batch_reads_back_through_the_existing_readers_unchanged() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let events: Vec<EventEnvelope> = (0..10)
        .map(|i| {
            event(
                "Counted",
                &format!("b{}", i % 3),
                serde_json::json!({ "i": i }),
            )
        })
        .collect();
    let ack = store.append_batch(TALLY_CONTEXT, events.clone()).await?;
    assert_eq!(
        (ack.first_sequence, ack.count, ack.last_sequence()),
        (1, 10, 10)
    );

    let (b0, version) = store.read_aggregate(TALLY_CONTEXT, "counter", "b0").await?;
    let expected: Vec<&EventEnvelope> = events.iter().step_by(3).collect();
    assert_eq!(b0.iter().map(|r| &r.envelope).collect::<Vec<_>>(), expected);
    assert_eq!(version, 10, "b0's last event is the batch's last");

    let mut sub = store.subscribe(TALLY_CONTEXT, vec![], 1).await?;
    for (i, e) in events.iter().enumerate() {
        let d = sub.next().await.expect("stream ended")?;
        assert_eq!(Some(d.position.clone()), ack.position(i));
        assert_eq!(&d.envelope?, e);
    }

    let js = jetstream::new(store.client().clone());
    let stream = js
        .get_stream_no_info(store.stream_name(TALLY_CONTEXT))
        .await?;
    let raw = stream.get_raw_message(4).await?;
    assert_eq!(
        raw.headers.get("Tsunagu-Event-Type").map(|v| v.as_str()),
        Some("Counted")
    );
    assert_eq!(
        raw.headers
            .get(EVENT_ID_HEADER)
            .map(|v| v.as_str().to_owned()),
        Some(events[3].event_id.to_string())
    );
    Ok(())
}

#[tokio::test]
async fn a_batch_of_1001_is_refused_whole_and_one_of_1000_is_stored_whole() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let many = |n: usize| -> Vec<EventEnvelope> {
        (0..n)
            .map(|i| {
                event(
                    "Counted",
                    &format!("m{}", i % 50),
                    serde_json::json!({ "i": i }),
                )
            })
            .collect()
    };
    let err = store
        .append_batch(TALLY_CONTEXT, many(MAX_BATCH + 1))
        .await
        .unwrap_err();
    match &err {
        AppendError::Refused(reason) => {
            assert!(reason.contains("at most 1000"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        store.last_sequence(TALLY_CONTEXT).await?,
        0,
        "nothing stored"
    );

    let ack = store.append_batch(TALLY_CONTEXT, many(MAX_BATCH)).await?;
    assert_eq!((ack.first_sequence, ack.last_sequence()), (1, 1000));
    assert_eq!(store.last_sequence(TALLY_CONTEXT).await?, 1000);
    Ok(())
}

#[tokio::test]
async fn a_batch_with_one_bad_event_stores_none_of_them() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let mut events: Vec<EventEnvelope> = (0..5)
        .map(|i| event("Counted", "fine", serde_json::json!({ "i": i })))
        .collect();
    events[3].aggregate_id = "a.>".to_owned();
    let err = store.append_batch(TALLY_CONTEXT, events).await.unwrap_err();
    assert!(
        matches!(&err, AppendError::Refused(r) if r.starts_with("event 3")),
        "{err:?}"
    );
    assert!(matches!(
        store.append_batch(TALLY_CONTEXT, vec![]).await,
        Err(AppendError::Refused(_))
    ));
    assert_eq!(store.last_sequence(TALLY_CONTEXT).await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_refused_event_is_refused_alone_and_does_not_sink_its_neighbours() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let group = GroupCommit::start(store.clone(), TALLY_CONTEXT, GroupCommitConfig::default());
    let bad = event("Counted", "no.dots", serde_json::json!({}));
    let good = event("Counted", "fine", serde_json::json!({}));
    let (bad, good) = tokio::join!(group.record(bad), group.record(good));
    assert!(matches!(bad, Err(GroupCommitError::Refused(_))), "{bad:?}");
    assert_eq!(good?.sequence, 1);
    Ok(())
}

#[tokio::test]
async fn a_lone_event_goes_out_at_once_in_a_batch_of_its_own() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let group = GroupCommit::start(store.clone(), TALLY_CONTEXT, GroupCommitConfig::default());
    let started = Instant::now();
    for i in 0..20 {
        let position = group
            .record(event("Counted", "alone", serde_json::json!({ "i": i })))
            .await?;
        assert_eq!(position.sequence, i + 1);
    }
    let stats = group.stats();
    assert_eq!(
        (stats.batches, stats.largest_batch, stats.atomic_batches),
        (20, 1, 0),
        "one plain publish each: {stats:?}"
    );
    // No waiting for company: twenty fsynced round trips, not twenty timers.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn batches_never_exceed_the_configured_size() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let group = GroupCommit::start(
        store.clone(),
        TALLY_CONTEXT,
        GroupCommitConfig {
            max_batch: 10,
            atomic_from: 2,
            max_in_flight: 1,
            ..Default::default()
        },
    );
    let results = futures::future::join_all(
        (0..200).map(|i| group.record(event("Counted", "small", serde_json::json!({ "i": i })))),
    )
    .await;
    assert!(results.iter().all(Result::is_ok));
    let stats = group.stats();
    assert!(
        stats.largest_batch <= 10 && stats.batches >= 20 && stats.atomic_batches >= 1,
        "{stats:?}"
    );
    assert_eq!(store.last_sequence(TALLY_CONTEXT).await?, 200);
    Ok(())
}

#[tokio::test]
async fn without_a_stream_every_caller_gets_an_error_promptly() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    // "nowhere" has no stream: nobody takes its messages.
    let group = GroupCommit::start(store.clone(), "nowhere", quick_failures());
    let results = tokio::time::timeout(
        Duration::from_secs(10),
        futures::future::join_all(
            (0..50).map(|i| group.record(event("Counted", "x", serde_json::json!({ "i": i })))),
        ),
    )
    .await?;
    for r in &results {
        assert!(
            matches!(r, Err(GroupCommitError::NotRecorded(e)) if matches!(**e, AppendError::Unavailable(_))),
            "{r:?}"
        );
    }
    let stats = group.stats();
    assert_eq!((stats.events, stats.failed_events), (0, 50));
    Ok(())
}

#[tokio::test]
async fn a_stream_that_refuses_batches_fails_every_caller_with_the_reason() -> anyhow::Result<()> {
    let nats = Nats::start().await?;
    let store = tally_store(&nats.url, &namespace()).await?;
    // A stream of the same subjects, but without atomic publish.
    let js = jetstream::new(store.client().clone());
    let mut config = js
        .get_stream(store.stream_name(TALLY_CONTEXT))
        .await?
        .info()
        .await?
        .config
        .clone();
    config.allow_atomic_publish = false;
    js.update_stream(config).await?;

    // Every group of two or more as an atomic batch; the twenty callers queue together
    // (the test's runtime is single-threaded), so none goes out alone.
    let group = GroupCommit::start(
        store.clone(),
        TALLY_CONTEXT,
        GroupCommitConfig {
            atomic_from: 2,
            ..quick_failures()
        },
    );
    let results = tokio::time::timeout(
        Duration::from_secs(10),
        futures::future::join_all(
            (0..20).map(|i| group.record(event("Counted", "x", serde_json::json!({ "i": i })))),
        ),
    )
    .await?;
    for r in &results {
        match r {
            Err(GroupCommitError::NotRecorded(e)) => {
                assert!(matches!(**e, AppendError::Refused(_)), "{e:?}");
            }
            other => panic!("expected a refused batch, got {other:?}"),
        }
    }
    assert_eq!(store.last_sequence(TALLY_CONTEXT).await?, 0);
    Ok(())
}

#[tokio::test]
async fn when_the_server_dies_mid_way_every_waiting_caller_gets_an_error() -> anyhow::Result<()> {
    let (nats, store) = store().await?;
    let group = GroupCommit::start(store.clone(), TALLY_CONTEXT, quick_failures());
    let writers = 100;
    let each = 50;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let group = group.clone();
        tasks.push(tokio::spawn(async move {
            // Like a request handler failing closed: the first error ends the writer.
            let mut outcomes = Vec::new();
            for i in 0..each {
                let e = event("Counted", &format!("w{w}"), serde_json::json!({ "i": i }));
                let outcome = group.record(e).await;
                let failed = outcome.is_err();
                outcomes.push(outcome);
                if failed {
                    break;
                }
            }
            outcomes
        }));
    }
    // Let some batches through, then take the server away.
    tokio::time::timeout(Duration::from_secs(30), async {
        while group.stats().events < 500 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await?;
    drop(nats);
    let outcomes = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(tasks))
        .await
        .expect("every caller hears back");
    let (mut stored, mut failed) = (0, 0);
    for outcome in outcomes {
        let outcome = outcome?;
        assert!(
            outcome.len() == each || outcome.last().is_some_and(Result::is_err),
            "a writer either finished or was told its event was not recorded"
        );
        for r in outcome {
            match r {
                Ok(_) => stored += 1,
                Err(GroupCommitError::NotRecorded(_)) => failed += 1,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
    }
    assert!(
        stored >= 500 && failed > 0,
        "stored {stored}, failed {failed}"
    );
    // And a caller arriving afterwards is told too.
    let late = tokio::time::timeout(
        Duration::from_secs(10),
        group.record(event("Counted", "late", serde_json::json!({}))),
    )
    .await?;
    assert!(
        matches!(late, Err(GroupCommitError::NotRecorded(_))),
        "{late:?}"
    );
    Ok(())
}

#[tokio::test]
async fn appending_one_event_the_usual_way_still_carries_its_id_header() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let e = event("Counted", "single", serde_json::json!({}));
    let appended = store
        .append(TALLY_CONTEXT, event_store::ExpectedVersion::Any, e.clone())
        .await?;
    let (stored, header) = stored_at(&store, TALLY_CONTEXT, appended.position.sequence).await?;
    assert_eq!(stored, e);
    assert_eq!(header, Some(e.event_id.to_string()));
    Ok(())
}

#[tokio::test]
async fn a_batch_stored_twice_after_a_lost_acknowledgement_is_projected_once() -> anyhow::Result<()>
{
    let (_nats, store) = store().await?;
    let db = TestDb::create().await?;
    let pool = db.pool()?;
    let events: Vec<EventEnvelope> = (0..50)
        .map(|i| {
            event(
                "Counted",
                &format!("d{}", i % 5),
                serde_json::json!({ "i": i }),
            )
        })
        .collect();
    store.append_batch(TALLY_CONTEXT, events.clone()).await?;
    // The acknowledgement was "lost": the writer sends the very same batch again, and
    // without Nats-Msg-Id the server stores it a second time.
    let again = store.append_batch(TALLY_CONTEXT, events).await?;
    assert_eq!(again.last_sequence(), 100);

    let runner = ProjectionRunner::new(tally(), pool.clone(), store.clone());
    runner.migrate().await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while checkpoint(&pool, "tally").await.unwrap_or(0) < 100 {
        anyhow::ensure!(Instant::now() < deadline, "the projection did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    task.await??;
    let total: i64 = pool
        .get()
        .await?
        .query_one("SELECT sum(applied)::bigint FROM tally.tallies", &[])
        .await?
        .get(0);
    assert_eq!(total, 50, "each event applied once, by its id");
    Ok(())
}
