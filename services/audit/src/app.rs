//! Start-up: connect, migrate, grant, collect, chain, sign, serve; and the operator's
//! commands (verify, rebuild, rotate-key).

use std::sync::Arc;

use anyhow::Context as _;
use bus::ServiceSpec;
use clock::SharedClock;
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod};
use projection_runner::ProjectionRunner;

use crate::checkpointer::{self, Checkpointer};
use crate::collector::Collector;
use crate::handlers::{Audit, endpoints};
use crate::keys::KeyStore;
use crate::log::{self, Log};
use crate::settings::Settings;

/// A pool whose connections search the log's schema first and, with `role`, work as that
/// role: one that may insert into the log and never change or delete it.
pub fn pool(database_url: &str, role: Option<&str>, size: usize) -> anyhow::Result<Pool> {
    let config: tokio_postgres::Config = database_url
        .parse()
        .context("TSUNAGU_DATABASE_URL is not a usable postgres URL")?;
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let mut setup = format!("SET search_path TO {}", log::SCHEMA);
    if let Some(role) = role {
        setup.push_str(&format!("; SET ROLE {role}"));
    }
    Pool::builder(manager)
        .max_size(size)
        .post_create(Hook::async_fn(move |client, _| {
            let setup = setup.clone();
            Box::pin(async move {
                client
                    .batch_execute(&setup)
                    .await
                    .map_err(HookError::Backend)
            })
        }))
        .build()
        .context("building the postgres pool")
}

/// Creates the streams, the schemas and the service's role with its grants. Safe to run
/// again.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let client = settings.nats.connect("tsunagu-audit-migrate").await?;
    let store = settings.nats.store(client)?;
    for context in [audit_api::CONTEXT, access_log::CONTEXT, "identity"] {
        store.ensure_stream(context).await?;
    }
    let owner = pool(&settings.database_url, None, 2)?;
    ProjectionRunner::new(
        Arc::new(Log {
            pseudonyms: settings.pseudonyms.clone(),
        }),
        owner.clone(),
        store,
    )
    .migrate()
    .await?;
    KeyStore::new(owner.clone(), settings.sealing_key.clone())
        .migrate()
        .await?;
    Collector::migrate(&owner).await?;
    if let Some(role) = &settings.db_role {
        grant(&owner, role).await?;
    }
    tracing::info!("migrations applied");
    Ok(())
}

/// The service's role: it reads and appends the log, and can never change or delete a
/// record, a Merkle node or a checkpoint (the trigger refuses that to everyone, the owner
/// included).
async fn grant(owner: &Pool, role: &str) -> anyhow::Result<()> {
    let client = owner.get().await?;
    client
        .batch_execute(&format!(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                     CREATE ROLE {role} NOLOGIN;
                 END IF;
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
             GRANT USAGE ON SCHEMA audit_log, audit_keys, audit_collector TO {role};
             REVOKE ALL ON audit_log.records, audit_log.merkle_nodes, audit_log.checkpoints FROM {role};
             GRANT SELECT, INSERT ON audit_log.records, audit_log.merkle_nodes, audit_log.checkpoints TO {role};
             GRANT SELECT, INSERT, UPDATE ON audit_log.signing_keys, audit_log.patients, audit_log.names TO {role};
             GRANT SELECT, INSERT ON audit_log.verifications, audit_log.verification_reports TO {role};
             GRANT SELECT, INSERT, UPDATE, DELETE ON audit_log._checkpoint, audit_log._processed,
                   audit_log._dead_letters TO {role};
             GRANT SELECT ON audit_log._migrations TO {role};
             GRANT SELECT, INSERT, UPDATE ON audit_keys.signing_keys, audit_collector.sources TO {role};"
        ))
        .await?;
    Ok(())
}

/// Walks the log and the checkpoints; returns whether it is intact.
pub async fn verify(settings: &Settings, json: bool) -> anyhow::Result<bool> {
    let owner = pool(&settings.database_url, None, 2)?;
    let client = owner.get().await?;
    let started = std::time::Instant::now();
    let published = published(settings).await?;
    let report = crate::verify::verify_against(&**client, Some(&published)).await?;
    let elapsed = started.elapsed().as_secs_f64();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} records, {} checkpoints walked in {elapsed:.2}s ({:.0} records/s); retention policy {} years",
            report.records,
            report.checkpoints,
            report.records as f64 / elapsed.max(1e-9),
            settings.retention_years
        );
        println!("chain head {}", report.chain_head);
        println!("merkle root {}", report.root);
        match &report.first {
            None => println!("intact"),
            Some(first) => {
                println!(
                    "NOT INTACT: {} problem(s); the first:",
                    report.problems.len()
                );
                println!(
                    "  {:?} at record {} {}: {}",
                    first.finding,
                    first
                        .seq
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    first
                        .checkpoint
                        .map(|c| format!("(checkpoint of {c} records)"))
                        .unwrap_or_default(),
                    first.detail
                );
            }
        }
    }
    Ok(report.intact)
}

/// The checkpoints and keys as published on the audit stream (the copy outside the
/// database).
async fn published(settings: &Settings) -> anyhow::Result<crate::verify::Published> {
    let client = settings.nats.connect("tsunagu-audit-verify").await?;
    Ok(crate::verify::published(&settings.nats.store(client)?).await?)
}

/// Rebuilds the log from sequence 0 into a fresh schema, with progress, and compares it
/// with the live one table by table and hash by hash.
pub async fn rebuild(settings: &Settings, swap: bool) -> anyhow::Result<()> {
    let client = settings.nats.connect("tsunagu-audit-rebuild").await?;
    let store = settings.nats.store(client)?;
    let owner = pool(&settings.database_url, None, 4)?;
    // Pointed at a database with no log yet, the rebuild is the log.
    let fresh = owner
        .get()
        .await?
        .query_one("SELECT to_regclass('audit_log.records') IS NULL", &[])
        .await?
        .get::<_, bool>(0);
    let target = format!("{}_rebuild", log::SCHEMA);
    let report = projection_runner::rebuild(
        Arc::new(Log {
            pseudonyms: settings.pseudonyms.clone(),
        }),
        owner.clone(),
        store,
        &target,
    )
    .await?;
    println!(
        "rebuilt {target}: {} events applied, {} duplicates, {} parked, checkpoint {}, {:.2}s",
        report.outcome.applied,
        report.outcome.duplicates,
        report.outcome.parked,
        report.outcome.checkpoint,
        report.elapsed.as_secs_f64()
    );
    let schemas: Vec<&str> = if fresh {
        owner
            .get()
            .await?
            .batch_execute(&format!("ALTER SCHEMA {target} RENAME TO {}", log::SCHEMA))
            .await?;
        println!("{target} is the log of this database now ({})", log::SCHEMA);
        vec![log::SCHEMA]
    } else {
        let live = projection_runner::table_digests(&owner, log::SCHEMA, log::TABLES).await?;
        let rebuilt = projection_runner::table_digests(&owner, &target, log::TABLES).await?;
        for (l, f) in live.iter().zip(&rebuilt) {
            let same = if l == f { "identical" } else { "DIFFERENT" };
            println!(
                "{:<14} live {:>9} rows  rebuilt {:>9} rows  {same}",
                l.0, l.1, f.1
            );
        }
        vec![log::SCHEMA, target.as_str()]
    };
    let client = owner.get().await?;
    for schema in schemas {
        let row = client
            .query_opt(
                &format!(
                    "SELECT seq, chain_hash FROM \"{schema}\".records ORDER BY seq DESC LIMIT 1"
                ),
                &[],
            )
            .await?;
        let head = row
            .map(|r| {
                format!(
                    "{} records, chain head {}",
                    r.get::<_, i64>(0) + 1,
                    hex::encode(r.get::<_, Vec<u8>>(1))
                )
            })
            .unwrap_or_else(|| "empty".into());
        println!("{schema:<18} {head}");
    }
    if swap && !fresh {
        projection_runner::swap_in(&owner, log::SCHEMA, &target).await?;
        if let Some(role) = &settings.db_role {
            grant(&owner, role).await?;
        }
        println!("swapped {target} in as the live {}", log::SCHEMA);
    }
    Ok(())
}

/// Makes a new checkpoint signing key now.
pub async fn rotate_key(settings: &Settings, clock: SharedClock) -> anyhow::Result<()> {
    let client = settings.nats.connect("tsunagu-audit-rotate").await?;
    let store = settings.nats.store(client)?;
    let owner = pool(&settings.database_url, None, 2)?;
    let keys = KeyStore::new(owner, settings.sealing_key.clone());
    let key = checkpointer::rotate(&keys, &store, &clock).await?;
    println!("checkpoints are signed with key {} from now on", key.key_id);
    Ok(())
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn serve(settings: Settings, clock: SharedClock) -> anyhow::Result<()> {
    migrate(&settings).await.context("migrating")?;
    let client = settings
        .nats
        .connect("tsunagu-audit")
        .await
        .context("connecting to NATS")?;
    let store = settings.nats.store(client.clone())?;
    let pool = pool(&settings.database_url, settings.db_role.as_deref(), 16)?;
    let owner = self::pool(&settings.database_url, None, 1)?;
    tracing::info!(
        retention_years = settings.retention_years,
        "audit retention policy: nothing is dropped before it"
    );

    let mut host = host::Host::new();
    host.project(ProjectionRunner::new(
        Arc::new(Log {
            pseudonyms: settings.pseudonyms.clone(),
        }),
        pool.clone(),
        store.clone(),
    ));

    // One writer per database: the collector and the checkpointer run in the replica that
    // holds the advisory lock; the others answer queries and wait to take over.
    let collector = Collector {
        store: store.clone(),
        pool: pool.clone(),
    };
    let checkpointer = Checkpointer {
        store: store.clone(),
        pool: pool.clone(),
        keys: KeyStore::new(pool.clone(), settings.sealing_key.clone()),
        clock: clock.clone(),
        policy: settings.checkpoints.clone(),
        log_id: format!("tsunagu-audit/{}", settings.nats.namespace),
    };
    host.spawn(
        "collector and checkpointer",
        write(owner, collector, checkpointer, host.stop_receiver()),
    );

    let audit = Arc::new(Audit {
        store,
        pool: pool.clone(),
        clock,
        pseudonyms: settings.pseudonyms.clone(),
    });
    host.serve(host::Serving {
        client,
        pool,
        health_addr: settings.health_addr,
        spec: ServiceSpec {
            name: audit_api::SERVICE,
            version: env!("CARGO_PKG_VERSION"),
            description: "audit: the tamper-evident log of every access to patient data and every security event",
            namespace: settings.nats.namespace.clone(),
            concurrency: 32,
        },
        endpoints: endpoints(audit),
    })
    .await
}

async fn write(
    owner: Pool,
    collector: Collector,
    checkpointer: Checkpointer,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let held = match owner.get().await {
            Ok(client) => match client
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtext('tsunagu-audit-writer'))",
                    &[],
                )
                .await
            {
                Ok(row) if row.get::<_, bool>(0) => Some(client),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(error = %e, "could not ask for the writer lock");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "no database connection for the writer lock");
                None
            }
        };
        if let Some(_lock) = held {
            tracing::info!("this replica collects and signs checkpoints");
            if let Err(e) = checkpointer.key().await {
                tracing::warn!(error = format!("{e:#}"), "no signing key yet");
            } else if let Ok(Some(key)) = checkpointer.keys.current().await {
                // Published again at every start (idempotent), so a key whose first
                // announcement was lost is known before it signs anything.
                let _ = checkpointer::publish(
                    &checkpointer.store,
                    &checkpointer.clock,
                    audit_api::aggregates::SIGNING_KEY,
                    &key.key_id,
                    audit_api::AuditEvent::SigningKeyIntroduced {
                        key_id: key.key_id.clone(),
                        public_key: hex::encode(key.key.verifying_key().as_bytes()),
                    },
                    "service:audit",
                )
                .await;
            }
            tokio::join!(collector.run(stop.clone()), checkpointer.run(stop.clone()));
            return;
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
        }
    }
}
