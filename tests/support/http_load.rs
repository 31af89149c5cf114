//! Closed-loop HTTP load for the benchmark binaries: C clients, each keeping one request in
//! flight for a while, with per-request latencies (from send until the whole answer is
//! read). Anything but 200 is an error: counted, the first few kept in full.

use std::time::{Duration, Instant};

/// Errors kept in full per case (all are counted).
pub const ERRORS_SHOWN: usize = 5;

/// One request, sent again and again.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub bearer: Option<String>,
}

/// What one case measured.
pub struct Row {
    pub case: String,
    pub wall: Duration,
    /// Of the successful requests, sorted.
    pub latencies: Vec<Duration>,
    pub errors: usize,
    /// The first few errors, in full.
    pub shown: Vec<String>,
}

impl Row {
    /// Every request answered (or failed) in the window.
    pub fn requests(&self) -> usize {
        self.latencies.len() + self.errors
    }

    pub fn per_s(&self) -> f64 {
        self.requests() as f64 / self.wall.as_secs_f64()
    }

    /// The nearest-rank percentile `q` (0..1] of the successful requests, in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        percentile_ms(&self.latencies, q)
    }
}

/// The nearest-rank percentile `q` (0..1] of sorted latencies, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

/// `clients` tasks, each sending `target` one request at a time for `length`. Returns when
/// every request sent has been answered, so nothing of this case is still in flight.
pub async fn load(
    http: &reqwest::Client,
    case: &str,
    target: &Target,
    clients: usize,
    length: Duration,
) -> Row {
    let started = Instant::now();
    let deadline = started + length;
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (http, target) = (http.clone(), target.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                while Instant::now() < deadline {
                    let mut request = http.get(&target.url);
                    if let Some(token) = &target.bearer {
                        request = request.bearer_auth(token);
                    }
                    let t = Instant::now();
                    let answer = match request.send().await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            response.bytes().await.map(|body| (status, body))
                        }
                        Err(e) => Err(e),
                    };
                    match answer {
                        Ok((200, _)) => latencies.push(t.elapsed()),
                        Ok((status, body)) => errors.push(format!(
                            "{status} {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        )),
                        Err(e) => errors.push(format!("no answer: {e}")),
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut shown = Vec::new();
    for worker in workers {
        match worker.await {
            Ok((l, e)) => {
                latencies.extend(l);
                errors += e.len();
                shown.extend(e.into_iter().take(ERRORS_SHOWN.saturating_sub(shown.len())));
            }
            Err(e) => {
                errors += 1;
                shown.push(format!("a client task failed: {e}"));
            }
        }
    }
    let wall = started.elapsed();
    latencies.sort_unstable();
    Row {
        case: case.to_owned(),
        wall,
        latencies,
        errors,
        shown,
    }
}

/// One reqwest client for every case, its pool sized for `clients` connections, keep-alive
/// on, no Nagle delay.
pub fn client(clients: usize) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .tcp_nodelay(true)
        .build()
}
