//! CPU time of the processes a benchmark runs (from `/proc/<pid>/stat`), so that its
//! output can say which process spent the machine's CPUs: on a 2-core machine shared by
//! the load generator, the services, nats-server and PostgreSQL, a figure is only
//! understood with that share beside it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU time of a process so far, or `None` when it is gone.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) / TICKS_PER_SECOND))
}

/// The process ids whose parent is `pid` (a PostgreSQL postmaster's backends).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s.get(s.rfind(')')? + 2..)?.to_owned();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// The postmaster of the run's PostgreSQL (`TSUNAGU_TEST_PG_DATA`, set by
/// `tests/bench/run`), if known.
pub fn postmaster() -> Option<u32> {
    let dir = std::env::var("TSUNAGU_TEST_PG_DATA").ok()?;
    let text = std::fs::read_to_string(std::path::Path::new(&dir).join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Named groups of processes whose CPU time is watched over a window.
#[derive(Default)]
pub struct CpuWatch {
    groups: Vec<(String, Vec<u32>)>,
    /// The PostgreSQL cluster: its postmaster, whose backends are found at each reading.
    postgres: Option<u32>,
}

/// What each group spent over a window.
#[derive(Debug, Clone, Default)]
pub struct CpuShare {
    /// Wall time of the window.
    pub wall: Duration,
    /// CPU time per group, in the order they were added (PostgreSQL last).
    pub spent: Vec<(String, Duration)>,
}

/// A reading: CPU time per pid.
pub struct Reading {
    at: Instant,
    times: BTreeMap<u32, Duration>,
}

impl CpuWatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Watches `pids` as `name`.
    pub fn add(mut self, name: &str, pids: impl IntoIterator<Item = u32>) -> Self {
        self.groups
            .push((name.to_owned(), pids.into_iter().collect()));
        self
    }

    /// Watches the run's PostgreSQL, when `tests/bench/run` named it.
    pub fn with_postgres(mut self) -> Self {
        self.postgres = postmaster();
        self
    }

    fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.groups.iter().flat_map(|(_, p)| p.clone()).collect();
        if let Some(pm) = self.postgres {
            pids.push(pm);
            pids.extend(children(pm));
        }
        pids
    }

    /// CPU time of every watched process now.
    pub fn read(&self) -> Reading {
        Reading {
            at: Instant::now(),
            times: self
                .pids()
                .into_iter()
                .filter_map(|p| Some((p, cpu_time(p)?)))
                .collect(),
        }
    }

    /// What each group spent between two readings.
    pub fn between(&self, before: &Reading, after: &Reading) -> CpuShare {
        let spent_of = |pids: &mut dyn Iterator<Item = u32>| -> Duration {
            pids.map(|p| {
                let a = after.times.get(&p).copied().unwrap_or_default();
                let b = before.times.get(&p).copied().unwrap_or_default();
                a.saturating_sub(b)
            })
            .sum()
        };
        let mut spent: Vec<(String, Duration)> = self
            .groups
            .iter()
            .map(|(name, pids)| (name.clone(), spent_of(&mut pids.iter().copied())))
            .collect();
        if self.postgres.is_some() {
            let mut pids: Vec<u32> = after.times.keys().copied().collect();
            pids.retain(|p| !self.groups.iter().any(|(_, g)| g.contains(p)));
            spent.push(("postgres".to_owned(), spent_of(&mut pids.into_iter())));
        }
        CpuShare {
            wall: after.at.saturating_duration_since(before.at),
            spent,
        }
    }
}

impl CpuShare {
    /// `name=12.3ms` per request for each group, and the total, for `requests` requests.
    pub fn per_request(&self, requests: usize) -> String {
        let n = requests.max(1) as f64;
        let total: Duration = self.spent.iter().map(|(_, d)| *d).sum();
        let mut parts: Vec<String> = self
            .spent
            .iter()
            .map(|(name, d)| format!("{name} {:.0}", d.as_secs_f64() * 1e6 / n))
            .collect();
        parts.push(format!("total {:.0}", total.as_secs_f64() * 1e6 / n));
        format!("CPU µs/request: {}", parts.join(", "))
    }

    /// CPU seconds per group, for the JSON line.
    pub fn to_json(&self, requests: usize) -> serde_json::Value {
        let n = requests.max(1) as f64;
        serde_json::Value::Object(
            self.spent
                .iter()
                .map(|(name, d)| {
                    (
                        name.clone(),
                        serde_json::json!((d.as_secs_f64() * 1e6 / n).round()),
                    )
                })
                .collect(),
        )
    }
}

/// The processes of a whole platform and this benchmark (the load generator), with the
/// run's PostgreSQL.
pub fn platform_cpu(p: &testkit::Platform) -> CpuWatch {
    CpuWatch::new()
        .add("load generator", [std::process::id()])
        .add("gateway", p.gateway.pid())
        .add("identity", p.identity.pid())
        .add("audit", p.audit.pid())
        .add("nats-server", [p.nats.pid()])
        .with_postgres()
}

/// Requests answered and time spent per endpoint of a service so far, as the NATS service
/// API reports them (`$SRV.STATS.<service>`): from the moment the request reached the
/// service until its answer was sent, queueing for a handler included.
pub async fn endpoint_times(
    client: &async_nats::Client,
    service: &str,
) -> anyhow::Result<BTreeMap<String, (u64, Duration)>> {
    let reply = client
        .request(format!("$SRV.STATS.{service}"), "".into())
        .await?;
    let stats: serde_json::Value = serde_json::from_slice(&reply.payload)?;
    let mut out = BTreeMap::new();
    for e in stats["endpoints"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or_default().to_owned();
        let requests = e["num_requests"].as_u64().unwrap_or(0);
        let nanos = e["processing_time"].as_u64().unwrap_or(0);
        out.insert(name, (requests, Duration::from_nanos(nanos)));
    }
    Ok(out)
}

/// The endpoint busiest between two readings of [`endpoint_times`], with its requests and
/// mean time in the service.
pub fn busiest(
    before: &BTreeMap<String, (u64, Duration)>,
    after: &BTreeMap<String, (u64, Duration)>,
) -> Option<(String, u64, Duration)> {
    after
        .iter()
        .map(|(name, (n, t))| {
            let (n0, t0) = before.get(name).copied().unwrap_or_default();
            (name.clone(), n - n0, t.saturating_sub(t0))
        })
        .filter(|(_, n, _)| *n > 0)
        .max_by_key(|(_, n, _)| *n)
        .map(|(name, n, t)| (name, n, t / n.max(1) as u32))
}
