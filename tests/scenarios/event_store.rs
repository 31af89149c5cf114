//! The event store against a real nats-server: conditional appends, retries, and streams
//! that cannot lose events.

use std::sync::Arc;

use async_nats::jetstream;
use event_store::{AppendError, EventStore, ExpectedVersion, JetStreamStore};
use testkit::{Nats, namespace};
use tokio::sync::Barrier;
use tsunagu_tests::{TALLY_CONTEXT, event, tally_store};

async fn store() -> anyhow::Result<(Nats, JetStreamStore)> {
    let nats = Nats::start().await?;
    let store = tally_store(&nats.url, &namespace()).await?;
    Ok((nats, store))
}

#[tokio::test]
async fn eight_concurrent_writers_on_one_aggregate_exactly_one_wins_each_round()
-> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let store = Arc::new(store);
    let rounds = 10;
    let writers = 8;
    for round in 0..rounds {
        let version = store
            .aggregate_version(TALLY_CONTEXT, "counter", "shared")
            .await?;
        let barrier = Arc::new(Barrier::new(writers));
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = store.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                let e = event("Counted", "shared", serde_json::json!({ "writer": w }));
                barrier.wait().await;
                store
                    .append(TALLY_CONTEXT, ExpectedVersion::from_loaded(version), e)
                    .await
            }));
        }
        let mut won = Vec::new();
        let mut conflicts = 0;
        for t in tasks {
            match t.await? {
                Ok(appended) => won.push(appended),
                Err(AppendError::Conflict { .. }) => conflicts += 1,
                Err(other) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(won.len(), 1, "round {round}: exactly one writer wins");
        assert_eq!(
            conflicts,
            writers - 1,
            "round {round}: the others get a conflict"
        );
        assert!(won[0].position.sequence > version);
    }
    let (events, _) = store
        .read_aggregate(TALLY_CONTEXT, "counter", "shared")
        .await?;
    assert_eq!(events.len(), rounds);
    Ok(())
}

#[tokio::test]
async fn a_retried_append_with_the_same_event_id_is_stored_once() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let e = event("Counted", "retry", serde_json::json!({}));
    let first = store
        .append(TALLY_CONTEXT, ExpectedVersion::NoStream, e.clone())
        .await?;
    // The acknowledgement was "lost": the writer sends the very same event again.
    let again = store
        .append(TALLY_CONTEXT, ExpectedVersion::NoStream, e.clone())
        .await?;
    assert!(!first.duplicate);
    assert!(again.duplicate, "the retry is recognised");
    assert_eq!(
        again.position, first.position,
        "and answered with the original position"
    );
    let (events, version) = store
        .read_aggregate(TALLY_CONTEXT, "counter", "retry")
        .await?;
    assert_eq!(events.len(), 1);
    assert_eq!(version, first.position.sequence);
    assert_eq!(events[0].envelope, e);
    Ok(())
}

#[tokio::test]
async fn an_aggregate_that_exists_cannot_be_created_again() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    store
        .append(
            TALLY_CONTEXT,
            ExpectedVersion::NoStream,
            event("Counted", "once", serde_json::json!({})),
        )
        .await?;
    let err = store
        .append(
            TALLY_CONTEXT,
            ExpectedVersion::NoStream,
            event("Counted", "once", serde_json::json!({})),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppendError::Conflict { .. }), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn an_aggregate_id_cannot_smuggle_wildcards_into_a_subject() -> anyhow::Result<()> {
    let (_nats, store) = store().await?;
    let err = store
        .append(
            TALLY_CONTEXT,
            ExpectedVersion::Any,
            event("Counted", "a.>", serde_json::json!({})),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppendError::Refused(_)), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn streams_keep_every_event_and_refuse_deletes_and_purges() -> anyhow::Result<()> {
    let (nats, store) = store().await?;
    let appended = store
        .append(
            TALLY_CONTEXT,
            ExpectedVersion::Any,
            event("Counted", "kept", serde_json::json!({})),
        )
        .await?;
    let js = jetstream::new(nats.connect().await?);
    let mut stream = js.get_stream(store.stream_name(TALLY_CONTEXT)).await?;
    let config = stream.info().await?.config.clone();
    assert_eq!(config.discard, jetstream::stream::DiscardPolicy::New);
    assert_eq!(config.storage, jetstream::stream::StorageType::File);
    assert!(config.deny_delete && config.deny_purge);
    assert_eq!(config.max_age, std::time::Duration::ZERO);
    assert_eq!(config.max_messages, -1);
    assert_eq!(config.max_bytes, -1);
    assert!(stream.purge().await.is_err(), "purge is refused");
    assert!(
        stream
            .delete_message(appended.position.sequence)
            .await
            .is_err(),
        "delete is refused"
    );
    assert_eq!(
        store.last_sequence(TALLY_CONTEXT).await?,
        appended.position.sequence
    );
    // The server this test runs against fsyncs every write.
    let varz: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{}/varz", nats.monitor_port))
            .await?
            .json()
            .await?;
    assert_eq!(varz["jetstream"]["config"]["sync_always"], true);
    Ok(())
}

#[tokio::test]
async fn a_subscriber_reads_from_a_position_in_order_without_gaps() -> anyhow::Result<()> {
    use futures::StreamExt;
    let (_nats, store) = store().await?;
    let mut positions = Vec::new();
    for i in 0..20 {
        let a = store
            .append(
                TALLY_CONTEXT,
                ExpectedVersion::Any,
                event(
                    "Counted",
                    &format!("c{}", i % 3),
                    serde_json::json!({ "i": i }),
                ),
            )
            .await?;
        positions.push(a.position.sequence);
    }
    let from = positions[7];
    let mut sub = store.subscribe(TALLY_CONTEXT, vec![], from).await?;
    let mut seen = Vec::new();
    while seen.len() < positions.len() - 7 {
        let d = sub.next().await.expect("stream ended")?;
        seen.push(d.position.sequence);
    }
    assert_eq!(seen, positions[7..].to_vec());
    Ok(())
}

#[tokio::test]
async fn loading_an_aggregate_over_and_over_leaves_no_consumers_behind() -> anyhow::Result<()> {
    let (nats, store) = store().await?;
    for i in 0..3 {
        store
            .append(
                TALLY_CONTEXT,
                ExpectedVersion::Any,
                event("Counted", "busy", serde_json::json!({ "i": i })),
            )
            .await?;
    }
    // More loads than a stream allows consumers (1,000 by default).
    for _ in 0..1_100 {
        let (events, _) = store
            .read_aggregate(TALLY_CONTEXT, "counter", "busy")
            .await?;
        assert_eq!(events.len(), 3);
    }
    let js = jetstream::new(nats.connect().await?);
    let mut stream = js.get_stream(store.stream_name(TALLY_CONTEXT)).await?;
    assert_eq!(stream.info().await?.state.consumer_count, 0);
    Ok(())
}
