//! A service process, the same for every service. Each service says what it runs — its
//! projections, its background work (sweeps, collectors), its bus endpoints — and the host
//! runs them: the endpoints registered on the bus, `/healthz` and `/readyz` on the health
//! port, everything stopped in order on SIGINT or SIGTERM (the bus first, so no request is
//! taken that the rest could not finish). It also rebuilds a projection beside the live one
//! and says whether the two are identical.
//!
//! ```ignore
//! let mut host = host::Host::new();
//! host.project(ProjectionRunner::new(Arc::new(Timeline), pool.clone(), store.clone()));
//! host.spawn("sweep", sweep(service.clone(), host.stopping()));
//! host.serve(Serving { client, pool, health_addr, spec, endpoints: host::endpoints(service, NAMES) }).await
//! ```

pub mod events;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use bus::{Endpoint, Incoming, Reply, ServiceSpec};
use deadpool_postgres::Pool;
use problem::Problem;
use projection_runner::{Projection, ProjectionRunner};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A service's answers: one call per request, dispatched by endpoint name. The handler owns
/// a reference to the service, so work it starts may outlive the request.
pub trait Service: Send + Sync + 'static {
    /// Answers one request to `endpoint`; a problem is sent back as problem details.
    fn handle(
        self: Arc<Self>,
        endpoint: &'static str,
        incoming: Incoming,
    ) -> impl Future<Output = Result<Reply, Problem>> + Send;
}

/// The endpoint table: every name answered by `service`.
pub fn endpoints<S: Service>(service: Arc<S>, names: &[&'static str]) -> Vec<Endpoint> {
    names
        .iter()
        .map(|&name| {
            let service = service.clone();
            Endpoint {
                name,
                handler: Arc::new(move |incoming: Incoming| {
                    let service = service.clone();
                    Box::pin(async move {
                        service
                            .handle(name, incoming)
                            .await
                            .unwrap_or_else(Reply::Problem)
                    })
                }),
            }
        })
        .collect()
}

/// What a service serves: its bus endpoints, and the health port that reports on its NATS
/// connection and its database.
pub struct Serving {
    pub client: async_nats::Client,
    pub pool: Pool,
    pub health_addr: SocketAddr,
    pub spec: ServiceSpec,
    pub endpoints: Vec<Endpoint>,
}

/// The running parts of a service process.
pub struct Host {
    stop_tx: watch::Sender<bool>,
    stop_rx: watch::Receiver<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

impl Host {
    pub fn new() -> Self {
        let (stop_tx, stop_rx) = watch::channel(false);
        Self {
            stop_tx,
            stop_rx,
            tasks: Vec::new(),
        }
    }

    /// Completes when the process is asked to stop: give it to every loop that must end.
    pub fn stopping(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// The stop flag itself, for work that hands it on to several loops of its own.
    pub fn stop_receiver(&self) -> watch::Receiver<bool> {
        self.stop_rx.clone()
    }

    /// Runs `task` in the background until it ends (it should end once
    /// [`Host::stopping`] completes); waited for when the process stops.
    pub fn spawn(&mut self, what: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push((what, tokio::spawn(task)));
    }

    /// Runs a projection until the process stops; an error ends it with a log line (the
    /// readiness of the rest is unaffected: reads wait for positions and time out).
    pub fn project<P: Projection>(&mut self, runner: ProjectionRunner<P>) {
        let stop = self.stopping();
        self.spawn("projection", async move {
            if let Err(error) = runner.run(stop).await {
                tracing::error!(%error, "a projection stopped");
            }
        });
    }

    /// Registers the endpoints, opens the health port, and runs until SIGINT or SIGTERM;
    /// then stops answering, stops the background work and waits for it.
    pub async fn serve(self, serving: Serving) -> anyhow::Result<()> {
        let Serving {
            client,
            pool,
            health_addr,
            spec,
            endpoints,
        } = serving;
        let name = spec.name;
        let service = bus::serve(client.clone(), spec, endpoints)
            .await
            .map_err(|e| anyhow::anyhow!("registering on the bus: {e}"))?;
        let listener = tokio::net::TcpListener::bind(health_addr)
            .await
            .with_context(|| format!("binding {health_addr}"))?;
        let health = lifecycle::health_router(client, pool);
        let stop = self.stopping();
        let http = tokio::spawn(async move {
            axum::serve(listener, health)
                .with_graceful_shutdown(stop)
                .await
        });
        tracing::info!(service = name, addr = %health_addr, "ready");

        lifecycle::shutdown_signal().await;
        tracing::info!(service = name, "stopping");
        let _ = self.stop_tx.send(true);
        service.stop().await;
        for (what, task) in self.tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, what, "a background task ended badly");
            }
        }
        let _ = http.await;
        Ok(())
    }
}

/// A service binary's `main`, the same for every service: telemetry, settings from the
/// environment (a bad one is exit status 2, naming it), then `run` with the command-line
/// arguments; an error is logged and printed (exit status 1). `run` answers the exit status
/// of a command that succeeded (a verification that found a fault may answer 1).
pub async fn main<S, F, Fut>(
    name: &'static str,
    settings: fn() -> Result<S, String>,
    run: F,
) -> std::process::ExitCode
where
    F: FnOnce(S, Vec<String>) -> Fut,
    Fut: Future<Output = anyhow::Result<std::process::ExitCode>>,
{
    let _telemetry = telemetry::init(name);
    let settings = match settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(settings, std::env::args().skip(1).collect()).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "{name} failed");
            eprintln!("{name}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Rebuilds `projection` from sequence 0 into `<live>_rebuild`, prints how it went and
/// whether each table is identical to the live one, and swaps it in when asked.
pub async fn rebuild<P: Projection>(
    projection: P,
    live: &str,
    pool: &Pool,
    store: &event_store::JetStreamStore,
    swap: bool,
) -> anyhow::Result<()> {
    let target = format!("{live}_rebuild");
    let tables = projection.tables();
    let report =
        projection_runner::rebuild(Arc::new(projection), pool.clone(), store.clone(), &target)
            .await?;
    println!(
        "rebuilt {target}: {} events applied, {} duplicates, {} parked, checkpoint {}, {:.2}s",
        report.outcome.applied,
        report.outcome.duplicates,
        report.outcome.parked,
        report.outcome.checkpoint,
        report.elapsed.as_secs_f64()
    );
    let live_digests = projection_runner::table_digests(pool, live, tables).await?;
    let fresh = projection_runner::table_digests(pool, &target, tables).await?;
    for (l, f) in live_digests.iter().zip(&fresh) {
        let same = if l == f { "identical" } else { "DIFFERENT" };
        println!(
            "{:<20} live {:>8} rows  rebuilt {:>8} rows  {same}",
            l.0, l.1, f.1
        );
    }
    if swap {
        projection_runner::swap_in(pool, live, &target).await?;
        println!("swapped {target} in as the live {live}");
    }
    Ok(())
}
