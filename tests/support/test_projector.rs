//! A process that runs the tally projection until killed: the crash tests SIGKILL it and
//! stop it at crash points to show that nothing is lost or applied twice.
//!
//! Environment: TSUNAGU_NATS_URL, TSUNAGU_NAMESPACE, TSUNAGU_DATABASE_URL,
//! TSUNAGU_BATCH (events per transaction, default 500), TSUNAGU_CRASH_POINT.

use projection_runner::ProjectionRunner;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("test-projector");
    let url = std::env::var("TSUNAGU_NATS_URL")?;
    let namespace = std::env::var("TSUNAGU_NAMESPACE")?;
    let db = std::env::var("TSUNAGU_DATABASE_URL")?;
    let batch = std::env::var("TSUNAGU_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(500);
    let store = tsunagu_tests::tally_store(&url, &namespace).await?;
    let runner = ProjectionRunner::new(tsunagu_tests::tally(), tsunagu_tests::pool(&db)?, store)
        .batch_size(batch);
    runner.migrate().await?;
    runner
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
