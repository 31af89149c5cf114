//! Request rates: a token bucket per key (a member, a client address). "N per minute"
//! means a full bucket holds N requests and refills at N/60 a second, so a burst of N
//! passes and then the steady rate holds.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before idle, full ones are forgotten (bounded memory under address scans).
const MAX_KEYS: usize = 100_000;

/// The gateway's two rates: per client address (before anything else) and per signed-in
/// member (after authentication).
pub struct Limits {
    pub per_address: RateLimit<std::net::IpAddr>,
    pub per_member: RateLimit<String>,
}

/// A rate limit per key. `per_minute == 0` turns it off.
pub struct RateLimit<K> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Eq + Hash + Clone> RateLimit<K> {
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket at `now`; when it is empty, answers how long
    /// until one request is allowed again.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < capacity
            });
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refilled).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_refuses_until_it_refills() {
        let limit = RateLimit::per_minute(6);
        let start = Instant::now();
        for _ in 0..6 {
            assert!(limit.take(&"nurse", start).is_ok());
        }
        let wait = limit.take(&"nurse", start).unwrap_err();
        assert_eq!(wait.as_secs(), 10, "one request every 10 s at 6 a minute");
        assert!(
            limit
                .take(&"nurse", start + Duration::from_secs(9))
                .is_err()
        );
        assert!(
            limit
                .take(&"nurse", start + Duration::from_secs(20))
                .is_ok()
        );
    }

    #[test]
    fn members_have_buckets_of_their_own() {
        let limit = RateLimit::per_minute(1);
        let now = Instant::now();
        assert!(limit.take(&"a", now).is_ok());
        assert!(limit.take(&"a", now).is_err());
        assert!(limit.take(&"b", now).is_ok());
    }

    #[test]
    fn zero_means_no_limit() {
        let limit = RateLimit::per_minute(0);
        let now = Instant::now();
        for _ in 0..10_000 {
            assert!(limit.take(&"a", now).is_ok());
        }
    }
}
