//! Test support: real NATS and Postgres for every test, and the real service binaries.
//!
//! `tests/run` starts one private Postgres for the whole run and exports
//! `TSUNAGU_TEST_DATABASE_URL` (a superuser URL) and `TSUNAGU_NATS_SERVER` (a
//! nats-server ≥ 2.12.3). Each test then gets:
//! - its own nats-server ([`Nats`]) on a free port with a temporary store and
//!   `sync_interval: always`, killed when dropped;
//! - its own database ([`TestDb`]), dropped when the test ends;
//! - its own namespace ([`namespace`]) for subjects and streams;
//! - the real binaries as child processes ([`ServiceProcess`], [`Platform`]).
//!
//! So tests run in parallel and leave nothing behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use deadpool_postgres::Pool;
use rand::Rng;

/// A fresh namespace (subject root and stream prefix) for one test.
pub fn namespace() -> String {
    format!("t{:012x}", rand::rng().random::<u64>() & 0xffff_ffff_ffff)
}

/// A TCP port nothing listens on right now, and never handed out before in this process.
///
/// The port is released before the process that will listen on it starts, so the system may
/// offer it again meanwhile: tests run side by side in one process, each starting a gateway
/// and three services with health ports, and a port given twice sent one test's requests to
/// another test's health port (a 404 with no body). Each port is therefore given once.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    for _ in 0..1000 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(0);
        if port == 0 {
            return 0;
        }
        let mut given = GIVEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if given.insert(port) {
            return port;
        }
    }
    0
}

/// The workspace's target folder, where `tests/run` built the binaries.
pub fn target_dir() -> PathBuf {
    if let Ok(dir) =
        std::env::var("TSUNAGU_TEST_TARGET_DIR").or_else(|_| std::env::var("CARGO_TARGET_DIR"))
    {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// The path of a built binary of the workspace: the profile folder is
/// `TSUNAGU_TEST_PROFILE` (`debug` unless set; the sign-in benchmark sets `release`).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let profile = std::env::var("TSUNAGU_TEST_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    let path = target_dir().join(profile).join(name);
    if !path.exists() {
        bail!(
            "{} is not built; run the tests through tests/run (it builds every binary first)",
            path.display()
        );
    }
    Ok(path)
}

fn nats_server_binary() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("TSUNAGU_NATS_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let installed = PathBuf::from("/var/lib/tsunagu/tools/nats-server-2.15.1/nats-server");
    if installed.exists() {
        return Ok(installed);
    }
    bail!("TSUNAGU_NATS_SERVER is not set; run the tests through tests/run")
}

async fn is_ours(monitor_port: u16, server_name: &str) -> bool {
    let url = format!("http://127.0.0.1:{monitor_port}/varz");
    match reqwest::get(&url).await {
        Ok(r) => r
            .json::<serde_json::Value>()
            .await
            .is_ok_and(|v| v["server_name"] == server_name),
        Err(_) => false,
    }
}

/// A private nats-server with JetStream, fsyncing every write.
pub struct Nats {
    child: Child,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    /// Its monitoring port (`/varz`, `/healthz`).
    pub monitor_port: u16,
    _dir: tempfile::TempDir,
}

impl Nats {
    /// Starts a server and waits until it accepts connections.
    pub async fn start() -> anyhow::Result<Self> {
        let bin = nats_server_binary()?;
        let dir = tempfile::Builder::new().prefix("tsunagu-nats-").tempdir()?;
        for _attempt in 0..5 {
            let port = free_port();
            let monitor_port = free_port();
            let config = format!(
                "listen: 127.0.0.1:{port}\nhttp: 127.0.0.1:{monitor_port}\nserver_name: test_{port}\n\
                 jetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n",
                dir.path().join("js").display()
            );
            let conf = dir.path().join("nats.conf");
            std::fs::write(&conf, config)?;
            let log = std::fs::File::create(dir.path().join("nats.log"))?;
            let mut child = Command::new(&bin)
                .arg("-c")
                .arg(&conf)
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", bin.display()))?;
            let url = format!("nats://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken between probe and start: try another
                }
                // Ours, not another test's server that got the same free port: its
                // monitoring endpoint names the server we configured.
                // The monitoring port can answer before the client port listens: wait for both.
                if is_ours(monitor_port, &format!("test_{port}")).await
                    && tokio::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .is_ok()
                    && matches!(child.try_wait(), Ok(None))
                {
                    return Ok(Self {
                        child,
                        url,
                        monitor_port,
                        _dir: dir,
                    });
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.path().join("nats.log")).unwrap_or_default();
        bail!("nats-server did not start:\n{log}")
    }

    /// Its process id (benchmarks read its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client connected to it.
    pub async fn connect(&self) -> anyhow::Result<async_nats::Client> {
        Ok(async_nats::connect(&self.url).await?)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database on the run's private Postgres, dropped at the end of the test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    /// Its name.
    pub name: String,
    admin_url: String,
}

impl TestDb {
    /// Creates an empty database.
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = std::env::var("TSUNAGU_TEST_DATABASE_URL")
            .context("TSUNAGU_TEST_DATABASE_URL is not set; run the tests through tests/run")?;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let mut config: tokio_postgres::Config = admin_url.parse()?;
        config.dbname(&name);
        let url = to_url(&config, &name)?;
        Ok(Self {
            url,
            name,
            admin_url,
        })
    }

    /// A connection pool to it.
    pub fn pool(&self) -> anyhow::Result<Pool> {
        Ok(projection_runner::connect_pool(&self.url, 8)?)
    }
}

fn to_url(config: &tokio_postgres::Config, db: &str) -> anyhow::Result<String> {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => bail!("the test database must be reached over TCP"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    Ok(format!("postgres://{user}:{password}@{host}:{port}/{db}"))
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside any async context we can rely on: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// A service binary running as a child process, killed when dropped.
pub struct ServiceProcess {
    child: Option<Child>,
    bin: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl ServiceProcess {
    /// Starts `bin` with `args` and exactly the `env` given (plus PATH), logging to `log`.
    pub fn start(
        bin: &Path,
        args: &[&str],
        env: &[(String, String)],
        log: PathBuf,
    ) -> anyhow::Result<Self> {
        let mut p = Self {
            child: None,
            bin: bin.to_owned(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env.to_vec(),
            log,
        };
        p.restart()?;
        Ok(p)
    }

    /// Starts it again (after a kill), appending to the same log.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.restart_with(&[])
    }

    /// Starts it again with extra environment (e.g. a crash point).
    pub fn restart_with(&mut self, extra: &[(String, String)]) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "RUST_LOG",
                std::env::var("TSUNAGU_TEST_LOG").unwrap_or_else(|_| "info".to_owned()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (k, v) in self.env.iter().chain(extra) {
            cmd.env(k, v);
        }
        self.child = Some(
            cmd.spawn()
                .with_context(|| format!("starting {}", self.bin.display()))?,
        );
        Ok(())
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Its process id while it runs (benchmarks read its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether it has exited, and how.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        match &mut self.child {
            Some(c) => c.try_wait().ok().flatten(),
            None => None,
        }
    }

    /// Waits (up to `timeout`) for it to exit by itself.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(s) = self.try_wait() {
                self.child = None;
                return Some(s);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// The end of its log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The whole platform for one test: NATS, a database, the identity service and the
/// gateway, all real, spoken to over HTTP.
pub struct Platform {
    /// The gateway's base URL, e.g. `http://127.0.0.1:40123`.
    pub base_url: String,
    /// The operator's bootstrap credential.
    pub token: String,
    /// The namespace of this platform's subjects and streams.
    pub namespace: String,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The identity service.
    pub identity: ServiceProcess,
    /// The gateway.
    pub gateway: ServiceProcess,
    /// The audit service.
    pub audit: ServiceProcess,
    /// The team messaging service.
    pub messaging: ServiceProcess,
    /// The messaging service's own database.
    pub messaging_db: TestDb,
    /// The messaging service's health address (`http://127.0.0.1:<port>`).
    pub messaging_health: String,
    /// The resource directory.
    pub directory: ServiceProcess,
    /// The directory's own database.
    pub directory_db: TestDb,
    /// The directory's health address (`http://127.0.0.1:<port>`).
    pub directory_health: String,
    /// Its NATS server.
    pub nats: Nats,
    /// Its database (the identity service's).
    pub db: TestDb,
    /// The audit service's own database.
    pub audit_db: TestDb,
    /// The audit service's keys (sealing, pseudonyms), as hex.
    pub audit_keys: (String, String),
    /// The audit service's health address (`http://127.0.0.1:<port>`).
    pub audit_health: String,
    /// Logs and scratch files.
    pub dir: tempfile::TempDir,
    /// The key sealing the identity service's secrets.
    pub credential_key: String,
}

impl Platform {
    /// Starts everything and waits until the gateway is ready.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&[]).await
    }

    /// Starts everything with extra environment for every service (e.g.
    /// `TSUNAGU_CLOCK_START`, so their clocks and the test's agree).
    pub async fn start_with(extra: &[(&str, &str)]) -> anyhow::Result<Self> {
        let nats = Nats::start().await?;
        let db = TestDb::create().await?;
        let dir = tempfile::Builder::new()
            .prefix("tsunagu-platform-")
            .tempdir()?;
        let namespace = namespace();
        let token = format!(
            "{:032x}{:032x}",
            rand::rng().random::<u128>(),
            rand::rng().random::<u128>()
        );
        let http_port = free_port();
        let mut common = vec![
            ("TSUNAGU_NATS_URL".to_owned(), nats.url.clone()),
            ("TSUNAGU_NAMESPACE".to_owned(), namespace.clone()),
            ("TSUNAGU_LOG_FORMAT".to_owned(), "json".to_owned()),
            (
                "TSUNAGU_TOKEN_ISSUER".to_owned(),
                format!("http://127.0.0.1:{http_port}"),
            ),
        ];
        // Scenarios send bursts from one address and one member; the rate-limit scenario
        // turns the limits on through `extra` (later entries win).
        common.push(("TSUNAGU_RATE_LIMIT_PER_ADDRESS".to_owned(), "0".to_owned()));
        common.push(("TSUNAGU_RATE_LIMIT_PER_MEMBER".to_owned(), "0".to_owned()));
        common.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let credential_key = format!(
            "{:032x}{:032x}",
            rand::rng().random::<u128>(),
            rand::rng().random::<u128>()
        );
        // A benchmark may run another build of the identity service (one that can skip
        // access records, to measure what they cost).
        let identity_bin = match extra
            .iter()
            .find(|(k, _)| *k == "TSUNAGU_TEST_IDENTITY_BINARY")
        {
            Some((_, path)) => PathBuf::from(path),
            None => binary("tsunagu-identity")?,
        };
        let mut identity_env = common.clone();
        identity_env.push(("TSUNAGU_DATABASE_URL".to_owned(), db.url.clone()));
        identity_env.push(("TSUNAGU_CREDENTIAL_KEY".to_owned(), credential_key.clone()));
        identity_env.push((
            "TSUNAGU_HEALTH_ADDR".to_owned(),
            format!("127.0.0.1:{}", free_port()),
        ));
        let identity = ServiceProcess::start(
            &identity_bin,
            &["serve"],
            &identity_env,
            dir.path().join("identity.log"),
        )?;
        let audit_db = TestDb::create().await?;
        let hex_key = || {
            format!(
                "{:032x}{:032x}",
                rand::rng().random::<u128>(),
                rand::rng().random::<u128>()
            )
        };
        // A benchmark may run the audit service on a kept, loaded database of its own.
        let kept = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let audit_keys = (
            hex_key(),
            kept("TSUNAGU_TEST_AUDIT_PSEUDONYM_KEY").unwrap_or_else(hex_key),
        );
        let audit_url =
            kept("TSUNAGU_TEST_AUDIT_DATABASE_URL").unwrap_or_else(|| audit_db.url.clone());
        let mut audit_env = common.clone();
        audit_env.push(("TSUNAGU_DATABASE_URL".to_owned(), audit_url));
        audit_env.push(("TSUNAGU_AUDIT_SEALING_KEY".to_owned(), audit_keys.0.clone()));
        audit_env.push((
            "TSUNAGU_AUDIT_PSEUDONYM_KEY".to_owned(),
            audit_keys.1.clone(),
        ));
        let audit_health_port = free_port();
        audit_env.push((
            "TSUNAGU_HEALTH_ADDR".to_owned(),
            format!("127.0.0.1:{audit_health_port}"),
        ));
        let audit = ServiceProcess::start(
            &binary("tsunagu-audit")?,
            &["serve"],
            &audit_env,
            dir.path().join("audit.log"),
        )?;
        let messaging_db = TestDb::create().await?;
        let mut messaging_env = common.clone();
        messaging_env.push(("TSUNAGU_DATABASE_URL".to_owned(), messaging_db.url.clone()));
        let messaging_health_port = free_port();
        messaging_env.push((
            "TSUNAGU_HEALTH_ADDR".to_owned(),
            format!("127.0.0.1:{messaging_health_port}"),
        ));
        let messaging = ServiceProcess::start(
            &binary("tsunagu-messaging")?,
            &["serve"],
            &messaging_env,
            dir.path().join("messaging.log"),
        )?;
        let directory_db = TestDb::create().await?;
        let mut directory_env = common.clone();
        directory_env.push(("TSUNAGU_DATABASE_URL".to_owned(), directory_db.url.clone()));
        let directory_health_port = free_port();
        directory_env.push((
            "TSUNAGU_HEALTH_ADDR".to_owned(),
            format!("127.0.0.1:{directory_health_port}"),
        ));
        let directory = ServiceProcess::start(
            &binary("tsunagu-directory")?,
            &["serve"],
            &directory_env,
            dir.path().join("directory.log"),
        )?;
        let mut gateway_env = common;
        gateway_env.push((
            "TSUNAGU_HTTP_ADDR".to_owned(),
            format!("127.0.0.1:{http_port}"),
        ));
        gateway_env.push(("TSUNAGU_BOOTSTRAP_TOKEN".to_owned(), token.clone()));
        let gateway = ServiceProcess::start(
            &binary("tsunagu-gateway")?,
            &[],
            &gateway_env,
            dir.path().join("gateway.log"),
        )?;
        let platform = Self {
            base_url: format!("http://127.0.0.1:{http_port}"),
            token,
            namespace,
            http: reqwest::Client::new(),
            identity,
            gateway,
            audit,
            messaging,
            messaging_db,
            messaging_health: format!("http://127.0.0.1:{messaging_health_port}"),
            directory,
            directory_db,
            directory_health: format!("http://127.0.0.1:{directory_health_port}"),
            nats,
            db,
            audit_db,
            audit_keys,
            audit_health: format!("http://127.0.0.1:{audit_health_port}"),
            dir,
            credential_key,
        };
        platform.wait_ready(Duration::from_secs(30)).await?;
        Ok(platform)
    }

    async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            // The audit service answers its health only once it serves on the bus.
            let ready = |url: String| async move {
                self.http
                    .get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            };
            if ready(self.url("/readyz")).await
                && ready(format!("{}/readyz", self.audit_health)).await
                && ready(format!("{}/readyz", self.messaging_health)).await
                && ready(format!("{}/readyz", self.directory_health)).await
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the platform did not become ready\n--- identity ---\n{}\n--- audit ---\n{}\n--- messaging ---\n{}\n--- directory ---\n{}\n--- gateway ---\n{}",
                    self.identity.log_tail(30),
                    self.audit.log_tail(30),
                    self.messaging.log_tail(30),
                    self.directory.log_tail(30),
                    self.gateway.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A URL on the gateway.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request with the operator's credential.
    pub fn operator(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    /// The environment the identity binary runs with, for running its CLI commands.
    pub fn identity_env(&self) -> Vec<(String, String)> {
        vec![
            ("TSUNAGU_NATS_URL".to_owned(), self.nats.url.clone()),
            ("TSUNAGU_NAMESPACE".to_owned(), self.namespace.clone()),
            ("TSUNAGU_DATABASE_URL".to_owned(), self.db.url.clone()),
            (
                "TSUNAGU_CREDENTIAL_KEY".to_owned(),
                self.credential_key.clone(),
            ),
        ]
    }

    /// The environment the messaging binary runs with, for running its CLI commands.
    pub fn messaging_env(&self) -> Vec<(String, String)> {
        vec![
            ("TSUNAGU_NATS_URL".to_owned(), self.nats.url.clone()),
            ("TSUNAGU_NAMESPACE".to_owned(), self.namespace.clone()),
            (
                "TSUNAGU_DATABASE_URL".to_owned(),
                self.messaging_db.url.clone(),
            ),
        ]
    }

    /// The environment the audit binary runs with, for running its CLI commands.
    pub fn audit_env(&self) -> Vec<(String, String)> {
        vec![
            ("TSUNAGU_NATS_URL".to_owned(), self.nats.url.clone()),
            ("TSUNAGU_NAMESPACE".to_owned(), self.namespace.clone()),
            ("TSUNAGU_DATABASE_URL".to_owned(), self.audit_db.url.clone()),
            (
                "TSUNAGU_AUDIT_SEALING_KEY".to_owned(),
                self.audit_keys.0.clone(),
            ),
            (
                "TSUNAGU_AUDIT_PSEUDONYM_KEY".to_owned(),
                self.audit_keys.1.clone(),
            ),
        ]
    }
}

/// Reads a JSON response body, whatever its status.
pub async fn json(response: reqwest::Response) -> anyhow::Result<(u16, String, serde_json::Value)> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.bytes().await?;
    let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok((status, content_type, value))
}
