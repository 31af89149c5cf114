//! One clock for the whole platform.
//!
//! Every binary takes the time from a [`Clock`], never from `Utc::now()` directly, so
//! tests can pin event times, expiries, second-factor codes and freshness checks.
//! In production the clock is the system clock. A binary started with
//! `TSUNAGU_CLOCK_START=<RFC 3339 instant>` runs a clock that starts at that instant and
//! advances with real time (so timeouts still work), which is how end-to-end tests
//! inject time into the real service processes.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

/// The source of "now" for a service, its domain commands and its tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// A shareable clock.
pub type SharedClock = Arc<dyn Clock>;

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a chosen instant and runs at the speed of real time.
#[derive(Debug, Clone)]
pub struct ShiftedClock {
    start: DateTime<Utc>,
    started: Instant,
}

impl ShiftedClock {
    /// A clock that reads `start` now and advances from there.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            start,
            started: Instant::now(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Duration::from_std(self.started.elapsed()).unwrap_or(Duration::MAX);
        self.start + elapsed
    }
}

/// A clock that only moves when a test moves it.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Moves the clock forward (or backward, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The environment variable that starts a binary's clock at a chosen instant.
pub const CLOCK_START_VAR: &str = "TSUNAGU_CLOCK_START";

/// A bad `TSUNAGU_CLOCK_START`.
#[derive(Debug)]
pub struct ClockSettingError(pub String);

impl std::fmt::Display for ClockSettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{CLOCK_START_VAR} must be an RFC 3339 instant such as 2026-10-01T09:00:00+09:00, got {:?}",
            self.0
        )
    }
}

impl std::error::Error for ClockSettingError {}

/// The clock a binary should use: shifted when `TSUNAGU_CLOCK_START` is set, the system
/// clock otherwise. Read once at start-up.
pub fn from_env() -> Result<SharedClock, ClockSettingError> {
    match std::env::var(CLOCK_START_VAR) {
        Ok(value) if !value.trim().is_empty() => {
            let start = DateTime::parse_from_rfc3339(value.trim())
                .map_err(|_| ClockSettingError(value.clone()))?;
            Ok(Arc::new(ShiftedClock::starting_at(
                start.with_timezone(&Utc),
            )))
        }
        _ => Ok(Arc::new(SystemClock)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let t0 = DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::at(t0);
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::hours(4));
        assert_eq!(clock.now(), t0 + Duration::hours(4));
    }

    #[test]
    fn a_shifted_clock_starts_at_its_instant_and_runs_forward() {
        let t0 = DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ShiftedClock::starting_at(t0);
        let a = clock.now();
        assert!(a >= t0 && a < t0 + Duration::seconds(5));
        assert!(clock.now() >= a);
    }
}
