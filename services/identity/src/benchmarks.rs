//! Compiled only with the `unrecorded-reads-for-benchmarks` feature (never in a build that
//! serves anyone): `TSUNAGU_BENCH_UNRECORDED_READS=1` makes patient reads skip their access
//! record, so a benchmark can measure what recording costs in the same run.

use std::sync::LazyLock;

static UNRECORDED: LazyLock<bool> = LazyLock::new(|| {
    let on = std::env::var("TSUNAGU_BENCH_UNRECORDED_READS").is_ok_and(|v| v == "1");
    if on {
        tracing::warn!(
            "BENCHMARK BUILD: patient reads are NOT recorded (TSUNAGU_BENCH_UNRECORDED_READS=1)"
        );
    }
    on
});

/// Whether patient reads skip their access record.
pub fn reads_unrecorded() -> bool {
    *UNRECORDED
}
