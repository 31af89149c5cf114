//! Compiled only with the `unrecorded-reads-for-benchmarks` feature (never in a build that
//! serves anyone: without the feature this module, the switch and the skipped path do not
//! exist): `TSUNAGU_BENCH_UNRECORDED_READS=1` makes patient reads skip their access record,
//! so that `tests/bench/run patient-read` can measure what recording costs in the same run.

use std::sync::LazyLock;

static UNRECORDED: LazyLock<bool> =
    LazyLock::new(|| std::env::var("TSUNAGU_BENCH_UNRECORDED_READS").is_ok_and(|v| v == "1"));

/// Whether patient reads skip their access record.
pub fn reads_unrecorded() -> bool {
    *UNRECORDED
}

/// At start-up: says loudly, in the log and on stderr, that this is a benchmark build and
/// whether it records patient reads.
pub fn announce() {
    if reads_unrecorded() {
        tracing::warn!(
            "BENCHMARK BUILD: patient reads are NOT RECORDED (TSUNAGU_BENCH_UNRECORDED_READS=1); never serve anyone with it"
        );
        eprintln!(
            "tsunagu-identity: BENCHMARK BUILD: patient reads are NOT RECORDED (TSUNAGU_BENCH_UNRECORDED_READS=1)"
        );
    } else {
        tracing::warn!(
            "benchmark build (feature unrecorded-reads-for-benchmarks); patient reads are recorded"
        );
    }
}
