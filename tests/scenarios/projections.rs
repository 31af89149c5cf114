//! Projections are exactly-once: crashes at any point, SIGKILLs and duplicated events
//! change nothing; poison events are parked; a rebuild equals the live projection.

use std::time::{Duration, Instant};

use event_store::{EventStore, ExpectedVersion, JetStreamStore};
use projection_runner::Projection as _;
use projection_runner::{ProjectionRunner, checkpoint, dead_letters, rebuild, table_digests};
use rand::Rng;
use testkit::{Nats, ServiceProcess, TestDb, binary, namespace};
use tsunagu_tests::{TALLY_CONTEXT, Tally, event, tally, tally_store};

async fn wait_for_checkpoint(
    pool: &deadpool_postgres::Pool,
    target: u64,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let at = checkpoint(pool, "tally").await.unwrap_or(0);
        if at >= target {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "projection stuck at {at}, wanted {target}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Appends `n` Counted events over `aggregates` aggregates, 256 in flight at a time.
async fn ingest(
    store: &JetStreamStore,
    n: usize,
    aggregates: usize,
    offset: usize,
) -> anyhow::Result<()> {
    let mut pending = Vec::new();
    for i in 0..n {
        let id = format!("a{}", (i + offset) % aggregates);
        let e = event("Counted", &id, serde_json::json!({ "i": i + offset }));
        pending.push(
            store
                .submit(TALLY_CONTEXT, ExpectedVersion::Any, &e)
                .await?,
        );
        if pending.len() >= 256 {
            for p in pending.drain(..) {
                p.acknowledged().await?;
            }
        }
    }
    for p in pending {
        p.acknowledged().await?;
    }
    Ok(())
}

#[tokio::test]
async fn kills_and_crash_points_during_an_ingest_lose_nothing_and_apply_nothing_twice()
-> anyhow::Result<()> {
    let nats = Nats::start().await?;
    let db = TestDb::create().await?;
    let ns = namespace();
    let store = tally_store(&nats.url, &ns).await?;
    let pool = db.pool()?;
    let dir = tempfile::tempdir()?;
    let env = vec![
        ("TSUNAGU_NATS_URL".to_owned(), nats.url.clone()),
        ("TSUNAGU_NAMESPACE".to_owned(), ns.clone()),
        ("TSUNAGU_DATABASE_URL".to_owned(), db.url.clone()),
        ("TSUNAGU_BATCH".to_owned(), "200".to_owned()),
    ];
    let mut projector = ServiceProcess::start(
        &binary("test-projector")?,
        &[],
        &env,
        dir.path().join("projector.log"),
    )?;

    // 1. A crash right after a commit, before the acknowledgement, at the 3rd batch.
    projector.kill();
    projector.restart_with(&[(
        "TSUNAGU_CRASH_POINT".to_owned(),
        "projection.after_commit_before_ack:3".to_owned(),
    )])?;
    ingest(&store, 2_000, 50, 0).await?;
    let status = projector.wait_exit(Duration::from_secs(60)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "the crash point stopped the projector: {}",
        projector.log_tail(20)
    );
    assert!(
        checkpoint(&pool, "tally").await? > 0,
        "it had committed before crashing"
    );
    projector.restart()?;

    // 2. Bounded random SIGKILLs while 10,000 more events arrive.
    let mut rng = rand::rng();
    let aggregates = 50;
    let mut sent = 2_000;
    for _ in 0..8 {
        ingest(&store, 1_250, aggregates, sent).await?;
        sent += 1_250;
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..250))).await;
        projector.kill();
        projector.restart()?;
    }

    // 3. The same events stored a second time (an atomic batch retried after a lost
    //    acknowledgement can do this): raw publishes without a message id.
    let js = async_nats::jetstream::new(async_nats::connect(&nats.url).await?);
    let (again, _) = store.read_aggregate(TALLY_CONTEXT, "counter", "a7").await?;
    for recorded in again.iter().take(25) {
        let subject = store.subject(TALLY_CONTEXT, "counter", "a7");
        js.publish(subject, serde_json::to_vec(&recorded.envelope)?.into())
            .await?
            .await?;
    }

    let last = store.last_sequence(TALLY_CONTEXT).await?;
    wait_for_checkpoint(&pool, last, Duration::from_secs(120)).await?;
    projector.kill();

    // Nothing lost, nothing applied twice: each aggregate counted each event once.
    let client = pool.get().await?;
    let total: i64 = client
        .query_one("SELECT sum(applied)::bigint FROM tally.tallies", &[])
        .await?
        .get(0);
    assert_eq!(
        total as usize, sent,
        "every distinct event applied exactly once"
    );
    let per: i32 = client
        .query_one(
            "SELECT applied FROM tally.tallies WHERE aggregate_id = 'a7'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(per as usize, sent / aggregates);
    assert!(dead_letters(&pool, "tally").await?.is_empty());

    // And a rebuild from sequence 0 comes out identical.
    let report = rebuild(tally(), pool.clone(), store.clone(), "tally_rebuild").await?;
    assert_eq!(report.outcome.applied as usize, sent);
    assert_eq!(report.outcome.duplicates, 25);
    assert_eq!(report.outcome.checkpoint, last);
    let live = table_digests(&pool, "tally", Tally.tables()).await?;
    let fresh = table_digests(&pool, "tally_rebuild", Tally.tables()).await?;
    assert_eq!(live, fresh);
    Ok(())
}

#[tokio::test]
async fn a_poison_event_is_parked_and_reported_while_the_rest_is_applied() -> anyhow::Result<()> {
    let nats = Nats::start().await?;
    let db = TestDb::create().await?;
    let ns = namespace();
    let store = tally_store(&nats.url, &ns).await?;
    let pool = db.pool()?;
    let mut positions = Vec::new();
    for (t, p) in [
        ("Counted", serde_json::json!({})),
        ("Poison", serde_json::json!({})),
        ("Noted", serde_json::json!({ "note": "x".repeat(500) })),
        ("Noted", serde_json::json!({ "note": "short" })),
        ("Counted", serde_json::json!({})),
    ] {
        positions.push(
            store
                .append(TALLY_CONTEXT, ExpectedVersion::Any, event(t, "p", p))
                .await?
                .position
                .sequence,
        );
    }
    // Something that is not an envelope at all.
    let js = async_nats::jetstream::new(async_nats::connect(&nats.url).await?);
    let garbage = js
        .publish(
            store.subject(TALLY_CONTEXT, "counter", "p"),
            "not json".into(),
        )
        .await?
        .await?;
    let after = store
        .append(
            TALLY_CONTEXT,
            ExpectedVersion::Any,
            event("Counted", "p", serde_json::json!({})),
        )
        .await?;

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
    wait_for_checkpoint(&pool, after.position.sequence, Duration::from_secs(30)).await?;
    let _ = stop.send(());
    task.await??;

    let parked: Vec<u64> = dead_letters(&pool, "tally")
        .await?
        .into_iter()
        .map(|(p, _, _)| p)
        .collect();
    assert_eq!(parked, vec![positions[1], positions[2], garbage.sequence]);
    let client = pool.get().await?;
    let applied: i32 = client
        .query_one(
            "SELECT applied FROM tally.tallies WHERE aggregate_id = 'p'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(applied, 3, "the events around the poison ones are applied");
    let notes: i64 = client
        .query_one("SELECT count(*) FROM tally.notes", &[])
        .await?
        .get(0);
    assert_eq!(notes, 1);
    Ok(())
}

#[tokio::test]
async fn two_runners_of_one_projection_never_apply_an_event_twice() -> anyhow::Result<()> {
    let nats = Nats::start().await?;
    let db = TestDb::create().await?;
    let store = tally_store(&nats.url, &namespace()).await?;
    let pool = db.pool()?;
    let a = ProjectionRunner::new(tally(), pool.clone(), store.clone()).batch_size(50);
    let b = ProjectionRunner::new(tally(), pool.clone(), store.clone()).batch_size(70);
    a.migrate().await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let run = |r: ProjectionRunner<Tally>, mut rx: tokio::sync::watch::Receiver<bool>| {
        tokio::spawn(async move {
            r.run(async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await
        })
    };
    let ta = run(a, stopped.clone());
    let tb = run(b, stopped);
    ingest(&store, 3_000, 10, 0).await?;
    wait_for_checkpoint(
        &pool,
        store.last_sequence(TALLY_CONTEXT).await?,
        Duration::from_secs(60),
    )
    .await?;
    let _ = stop.send(true);
    ta.await??;
    tb.await??;
    let client = pool.get().await?;
    let total: i64 = client
        .query_one("SELECT sum(applied)::bigint FROM tally.tallies", &[])
        .await?
        .get(0);
    assert_eq!(total, 3_000);
    Ok(())
}

/// Replays `projection`'s stream twice into fresh schemas, in batches of up to 1,000 and
/// one event at a time, and answers both reports and the tables' digests.
async fn replay_both_ways<P: projection_runner::Projection>(
    projection: std::sync::Arc<P>,
    pool: &deadpool_postgres::Pool,
    store: &JetStreamStore,
) -> anyhow::Result<()> {
    let name = projection.name();
    let tables = projection.tables();
    let batched = ProjectionRunner::new(projection.clone(), pool.clone(), store.clone())
        .in_schema(format!("{name}_batched"))
        .batch_size(1_000)
        .rebuild()
        .await?;
    let one_by_one = ProjectionRunner::new(projection, pool.clone(), store.clone())
        .in_schema(format!("{name}_one_by_one"))
        .batch_size(1)
        .rebuild()
        .await?;
    assert_eq!(batched.outcome.applied, one_by_one.outcome.applied);
    assert_eq!(batched.outcome.checkpoint, one_by_one.outcome.checkpoint);
    assert_eq!(
        one_by_one.outcome.batches, one_by_one.outcome.applied,
        "{name}: one transaction per event"
    );
    assert!(
        batched.outcome.batches * 10 < batched.outcome.applied,
        "{name}: the batched replay applied {} events in {} transactions",
        batched.outcome.applied,
        batched.outcome.batches
    );
    assert_eq!(batched.outcome.parked, 0, "{name}: nothing parked");
    assert_eq!(one_by_one.outcome.parked, 0, "{name}: nothing parked");
    let a = table_digests(pool, &format!("{name}_batched"), tables).await?;
    let b = table_digests(pool, &format!("{name}_one_by_one"), tables).await?;
    assert!(
        a.iter().any(|(_, rows, _)| *rows > 0),
        "{name}: the replay wrote rows"
    );
    assert_eq!(a, b, "{name}: batched and one by one give the same tables");
    Ok(())
}

#[tokio::test]
async fn a_batched_replay_and_an_event_by_event_replay_of_the_same_mixed_events_give_identical_tables()
-> anyhow::Result<()> {
    use tsunagu_tests::identity_mix::{audit_events, identity_events};
    let nats = Nats::start().await?;
    let db = TestDb::create().await?;
    let pool = db.pool()?;
    let store = tally_store(&nats.url, &namespace()).await?;
    const N: usize = 10_000;

    // Identity's register and care projections over a running region's stream.
    store.ensure_stream(identity_api::CONTEXT).await?;
    let identity = identity_events(N, 14);
    tsunagu_tests::append_all(&store, identity_api::CONTEXT, &identity, 256).await?;
    replay_both_ways(
        std::sync::Arc::new(identity::projections::register::Register),
        &pool,
        &store,
    )
    .await?;
    replay_both_ways(
        std::sync::Arc::new(identity::projections::care::Care),
        &pool,
        &store,
    )
    .await?;

    // The audit chain over the collector's copies of access records and security events.
    store.ensure_stream(audit_api::CONTEXT).await?;
    let audit = audit_events(N, 14);
    tsunagu_tests::append_all(&store, audit_api::CONTEXT, &audit, 256).await?;
    replay_both_ways(
        std::sync::Arc::new(audit::log::Log {
            pseudonyms: audit::records::Pseudonyms::new([7; 32]),
        }),
        &pool,
        &store,
    )
    .await?;

    // The tally: counts and notes, mixed.
    let tally_events: Vec<_> = (0..N)
        .map(|i| match i % 5 {
            4 => event(
                "Noted",
                &format!("a{}", i % 37),
                serde_json::json!({ "note": format!("n{i}") }),
            ),
            _ => event("Counted", &format!("a{}", i % 37), serde_json::json!({})),
        })
        .collect();
    tsunagu_tests::append_all(&store, TALLY_CONTEXT, &tally_events, 256).await?;
    replay_both_ways(tally(), &pool, &store).await?;
    Ok(())
}

#[tokio::test]
async fn a_kill_in_the_middle_of_a_batch_leaves_it_unapplied_and_the_next_run_applies_it_once()
-> anyhow::Result<()> {
    let nats = Nats::start().await?;
    let db = TestDb::create().await?;
    let ns = namespace();
    let store = tally_store(&nats.url, &ns).await?;
    let pool = db.pool()?;
    let dir = tempfile::tempdir()?;
    ingest(&store, 3_000, 40, 0).await?;
    let env = vec![
        ("TSUNAGU_NATS_URL".to_owned(), nats.url.clone()),
        ("TSUNAGU_NAMESPACE".to_owned(), ns.clone()),
        ("TSUNAGU_DATABASE_URL".to_owned(), db.url.clone()),
        ("TSUNAGU_BATCH".to_owned(), "500".to_owned()),
        // The third batch stops with its statements sent and its checkpoint moved, before
        // its commit, and waits there to be killed.
        (
            "TSUNAGU_CRASH_POINT".to_owned(),
            "projection.before_commit:3:hold".to_owned(),
        ),
    ];
    let mut projector = ServiceProcess::start(
        &binary("test-projector")?,
        &[],
        &env,
        dir.path().join("projector.log"),
    )?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !projector
        .log_tail(50)
        .contains("crash point reached; holding")
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the projector never reached the crash point: {}",
            projector.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    projector.kill();

    // As if the third batch had never begun: every count is of an event at or below the
    // checkpoint, which two batches reached.
    let at = checkpoint(&pool, "tally").await?;
    let client = pool.get().await?;
    let counted = |client: deadpool_postgres::Object| async move {
        let total: i64 = client
            .query_one(
                "SELECT coalesce(sum(applied), 0)::bigint FROM tally.tallies",
                &[],
            )
            .await?
            .get(0);
        let processed: i64 = client
            .query_one("SELECT count(*) FROM tally._processed", &[])
            .await?
            .get(0);
        anyhow::Ok((total, processed))
    };
    let (total, processed) = counted(client).await?;
    assert!(
        at > 0 && at < 3_000,
        "two batches committed, not the third: {at}"
    );
    assert_eq!(
        total as u64, at,
        "counts of exactly the events below the checkpoint"
    );
    assert_eq!(processed as u64, at);

    // The next run applies the rest, the interrupted batch once.
    projector.restart_with(&[("TSUNAGU_CRASH_POINT".to_owned(), String::new())])?;
    wait_for_checkpoint(&pool, 3_000, Duration::from_secs(60)).await?;
    projector.kill();
    let (total, processed) = counted(pool.get().await?).await?;
    assert_eq!(total, 3_000, "every event counted exactly once");
    assert_eq!(processed, 3_000);
    Ok(())
}

#[tokio::test]
async fn a_poison_event_among_many_in_one_replay_is_parked_alone_and_the_rest_applied()
-> anyhow::Result<()> {
    let nats = Nats::start().await?;
    let db = TestDb::create().await?;
    let store = tally_store(&nats.url, &namespace()).await?;
    let pool = db.pool()?;
    let mut events = Vec::new();
    for i in 0..400 {
        events.push(match i {
            150 => event("Poison", "p", serde_json::json!({})),
            260 => event("Noted", "p", serde_json::json!({ "note": "x".repeat(500) })),
            _ if i % 3 == 0 => event("Noted", "p", serde_json::json!({ "note": format!("n{i}") })),
            _ => event("Counted", &format!("a{}", i % 9), serde_json::json!({})),
        });
    }
    tsunagu_tests::append_all(&store, TALLY_CONTEXT, &events, 256).await?;
    let report = ProjectionRunner::new(tally(), pool.clone(), store.clone())
        .in_schema("tally_poisoned")
        .rebuild()
        .await?;
    assert_eq!(report.outcome.parked, 2);
    assert_eq!(report.outcome.applied, 398);
    let parked: Vec<u64> = dead_letters(&pool, "tally_poisoned")
        .await?
        .into_iter()
        .map(|(p, _, _)| p)
        .collect();
    assert_eq!(parked, vec![151, 261], "the two poison events, alone");
    let client = pool.get().await?;
    let counted: i64 = client
        .query_one(
            "SELECT sum(applied)::bigint FROM tally_poisoned.tallies",
            &[],
        )
        .await?
        .get(0);
    let notes: i64 = client
        .query_one("SELECT count(*) FROM tally_poisoned.notes", &[])
        .await?
        .get(0);
    let expected_counted = (0..400)
        .filter(|i| i % 3 != 0 && *i != 260 && *i != 150)
        .count();
    let expected_notes = (0..400).filter(|i| i % 3 == 0 && *i != 150).count();
    assert_eq!(counted as usize, expected_counted);
    assert_eq!(notes as usize, expected_notes);
    Ok(())
}
