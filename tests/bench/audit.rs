//! bench-audit: the audit log at size. In one run:
//!
//! 1. **Load** N records (default 10,000,000) into a *kept* benchmark database by binary
//!    COPY — realistic access records (patients by pseudonym, a year of accesses, 95 %
//!    allowed), chained and with their Merkle subtrees, exactly as the service stores them —
//!    watching the disk: progress every 500,000 rows with the database's size and the space
//!    left, and a stop (keeping what is loaded) when less than `--min-free-gb` remains. A
//!    database that already holds the same load is reused.
//! 2. **Verify**: the chain verification rate (records/s) of `audit::verify::verify` over
//!    the whole log.
//! 3. **Query**: "accesses to patient P in a month" through the API — a whole platform
//!    (release binaries: gateway, identity, audit on that database) and an auditor with C
//!    clients, random patients and months: p50/p90/p99 and requests/s. Every query is also
//!    recorded in the log (`AuditLogRead`), as in production.
//! 4. **Ingest**: E access records appended to the access stream in atomic batches, timed
//!    until the log holds them all (collector → audit stream → chain): events/s.
//! 5. **Verify through the API**: an auditor's `POST /api/v1/audit/verification`, followed
//!    until the background walk (also held to the checkpoints published on the stream)
//!    reports: seconds and records/s.
//!
//! Run it through `tests/bench/run audit [--records N] [--patients P] [--queries Q]
//! [--clients C] [--ingest E] [--min-free-gb G]`, which keeps the database's PostgreSQL in
//! /var/lib/tsunagu/bench/audit.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use audit_api::{AuditRecord, RecordKind, RecordSource};
use audit_chain::{CheckpointBody, Digest, chain_hash, leaf_hash, node_hash, sign_checkpoint};
use chrono::{DateTime, TimeZone, Utc};
use futures::pin_mut;
use reqwest::Method;
use serde_json::json;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tsunagu_tests::accounts::{IZUMO, start};
use tsunagu_tests::bench_args;
use tsunagu_tests::care::{auditor, site_of_kind};
use uuid::Uuid;

const USAGE: &str = "usage: bench-audit [--records N] [--patients P] [--members M] [--queries Q] [--clients C] [--ingest E] [--min-free-gb G]   (run through tests/bench/run audit)";
const MUNICIPALITIES: [&str; 4] = ["322032", "141003", "322041", "322059"];

struct Args {
    records: u64,
    patients: u64,
    members: u64,
    queries: usize,
    clients: usize,
    ingest: usize,
    min_free_gb: f64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        records: 10_000_000,
        patients: 100_000,
        members: 5_000,
        queries: 3_000,
        clients: 8,
        ingest: 20_000,
        min_free_gb: 1.5,
    };
    for (name, value) in bench_args::flags(USAGE)? {
        match name.as_str() {
            "--records" => a.records = bench_args::number(&name, &value, 1_000)?,
            "--patients" => a.patients = bench_args::number(&name, &value, 10)?,
            "--members" => a.members = bench_args::number(&name, &value, 10)?,
            "--queries" => a.queries = bench_args::number(&name, &value, 10)? as usize,
            "--clients" => a.clients = bench_args::number(&name, &value, 1)? as usize,
            "--ingest" => a.ingest = bench_args::number(&name, &value, 0)? as usize,
            "--min-free-gb" => a.min_free_gb = value.parse().context("--min-free-gb")?,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(a)
}

/// A fast, deterministic mix (splitmix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn patient_id(p: u64) -> String {
    Uuid::from_u64_pair(0x0190_0000_0000_7000, 0x8000_0000_0000_0000 | p).to_string()
}

fn year() -> (DateTime<Utc>, chrono::Duration) {
    let start = Utc.with_ymd_and_hms(2025, 12, 31, 15, 0, 0).unwrap();
    (start, chrono::Duration::days(365))
}

/// Record `i` of the benchmark log.
fn record(i: u64, n: u64, a: &Args, pseudonyms: &[String]) -> AuditRecord {
    let (start, span) = year();
    let at = start
        + chrono::Duration::microseconds(
            (span.num_microseconds().unwrap() as f64 * i as f64 / n as f64) as i64,
        );
    let h = mix(i);
    let patient = h % a.patients;
    let member = mix(h) % a.members;
    let site = Uuid::from_u64_pair(
        0x0190_0000_0000_7000,
        0x9000_0000_0000_0000 | (member % 500),
    )
    .to_string();
    let member_id =
        Uuid::from_u64_pair(0x0190_0000_0000_7000, 0xa000_0000_0000_0000 | member).to_string();
    let allowed = !h.is_multiple_of(20);
    let reason = if allowed {
        json!({"outcome": "allowed", "categories": ["care_records"], "basis": {"kind": "consent",
            "consent_id": Uuid::from_u64_pair(1, patient).to_string(), "version": 1,
            "team_membership": Uuid::from_u64_pair(2, patient ^ member).to_string(), "site": site,
            "family_information": false}})
    } else {
        json!({"outcome": "denied", "reason": {"kind": "site_not_covered", "site": site}})
    };
    AuditRecord {
        seq: i,
        source: RecordSource {
            stream: "TSUNAGU_ACCESS".into(),
            sequence: i + 1,
            event_id: Uuid::from_u64_pair(0x0190_0000_0000_7000, 0xb000_0000_0000_0000 | i)
                .to_string(),
        },
        event_type: "AccessRecorded".into(),
        kind: RecordKind::PatientAccess,
        at: DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap(),
        actor: format!("member:{member_id}"),
        member_id: Some(member_id),
        session_id: Some(Uuid::from_u64_pair(3, member ^ (i / 5_000)).to_string()),
        roles: vec!["professional".into(), "profession:nurse".into()],
        sites: vec![site],
        municipality: Some(MUNICIPALITIES[(patient % 4) as usize].into()),
        patient: Some(pseudonyms[patient as usize].clone()),
        outcome: Some(if allowed { "allowed" } else { "denied" }.into()),
        reason,
        categories: vec!["care_records".into()],
        resources: vec!["record".into()],
        purpose: Some("care".into()),
        break_glass: false,
        client_address: Some(format!("10.{}.{}.{}", member % 7, member % 251, h % 250)),
        route: Some("GET /api/v1/patients/{patient_id}/record".into()),
        detail: json!({"accessor_municipality": MUNICIPALITIES[(patient % 4) as usize]}),
    }
}

/// Bytes free on the filesystem holding `path`.
fn free_bytes(path: &str) -> f64 {
    std::process::Command::new("df")
        .args(["-B1", "--output=avail", path])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .nth(1)?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(f64::MAX)
}

const GB: f64 = 1024.0 * 1024.0 * 1024.0;

async fn db_size(client: &tokio_postgres::Client) -> anyhow::Result<f64> {
    Ok(client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await?
        .get::<_, i64>(0) as f64)
}

/// Loads records `[from, n)` after the chain head `previous`; answers how many the log
/// holds when it stopped.
async fn load(
    client: &tokio_postgres::Client,
    a: &Args,
    n: u64,
    data_dir: &str,
) -> anyhow::Result<u64> {
    let keys =
        audit::records::Pseudonyms::from_hex(&pseudonym_key()?).context("the pseudonym key")?;
    let pseudonyms: Vec<String> = (0..a.patients).map(|p| keys.of(&patient_id(p))).collect();
    client
        .batch_execute(
            "SET session_replication_role = replica;
             TRUNCATE records, merkle_nodes, checkpoints, signing_keys, patients, _processed;
             UPDATE _checkpoint SET position = 0;
             DELETE FROM public.bench_meta;",
        )
        .await?;
    // Who the pseudonyms stand for (beside the chain), as the service keeps them.
    let sink = client
        .copy_in("COPY patients (pseudonym, patient_id) FROM STDIN BINARY")
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::TEXT]);
    pin_mut!(writer);
    for p in 0..a.patients {
        writer
            .as_mut()
            .write(&[&pseudonyms[p as usize], &patient_id(p)])
            .await?;
    }
    writer.finish().await?;

    let types = [
        Type::INT8,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT_ARRAY,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::BOOL,
        Type::BYTEA,
        Type::BYTEA,
        Type::BYTEA,
    ];
    let started = Instant::now();
    let mut previous = Digest::ZERO;
    // Perfect subtrees waiting for their right sibling: (level, index, hash).
    let mut stack: Vec<(u32, u64, Digest)> = Vec::new();
    let mut nodes: Vec<(i32, i64, Vec<u8>)> = Vec::new();
    let mut loaded = 0u64;
    const CHUNK: u64 = 100_000;
    let mut bytes_total = 0u64;
    while loaded < n {
        let end = (loaded + CHUNK).min(n);
        let sink = client
            .copy_in("COPY records (seq, at, kind, member_id, session_id, sites, municipality, patient, outcome, break_glass, record, leaf_hash, chain_hash) FROM STDIN BINARY")
            .await?;
        let writer = BinaryCopyInWriter::new(sink, &types);
        pin_mut!(writer);
        for i in loaded..end {
            let r = record(i, n, a, &pseudonyms);
            let bytes = audit::records::canonical(&r)?;
            bytes_total += bytes.len() as u64;
            let leaf = leaf_hash(&bytes);
            let chain = chain_hash(&previous, &leaf);
            previous = chain;
            let mut node = (0u32, i, leaf);
            while let Some(&(level, index, left)) = stack.last() {
                if level != node.0 {
                    break;
                }
                stack.pop();
                node = (level + 1, index / 2, node_hash(&left, &node.2));
                if node.0 >= audit::log::NODE_LEVEL {
                    nodes.push((node.0 as i32, node.1 as i64, node.2.as_bytes().to_vec()));
                }
            }
            stack.push(node);
            writer
                .as_mut()
                .write(&[
                    &(i as i64),
                    &r.at,
                    &r.kind.as_str(),
                    &r.member_id,
                    &r.session_id,
                    &r.sites,
                    &r.municipality,
                    &r.patient,
                    &r.outcome,
                    &r.break_glass,
                    &bytes,
                    &leaf.as_bytes().as_slice(),
                    &chain.as_bytes().as_slice(),
                ])
                .await?;
        }
        writer.finish().await?;
        loaded = end;
        if loaded.is_multiple_of(500_000) || loaded == n {
            let free = free_bytes(data_dir);
            println!(
                "  loaded {loaded:>10} records  {:>7.0} records/s  database {:.2} GB  disk free {:.2} GB",
                loaded as f64 / started.elapsed().as_secs_f64(),
                db_size(client).await? / GB,
                free / GB
            );
            if free / GB < a.min_free_gb && loaded < n {
                println!(
                    "  stopping the load: less than {} GB free; the log keeps {loaded} records",
                    a.min_free_gb
                );
                break;
            }
        }
    }
    // Merkle subtrees of 2^8 leaves and more, as the service stores them.
    let sink = client
        .copy_in("COPY merkle_nodes (level, idx, hash) FROM STDIN BINARY")
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::INT4, Type::INT8, Type::BYTEA]);
    pin_mut!(writer);
    for (level, index, hash) in &nodes {
        writer.as_mut().write(&[level, index, hash]).await?;
    }
    writer.finish().await?;
    // One signed checkpoint of the whole load, so verification checks a signature and a root.
    let mut root_parts = stack.iter().rev();
    let root = match root_parts.next() {
        Some(&(_, _, last)) => root_parts.fold(last, |acc, (_, _, left)| node_hash(left, &acc)),
        None => audit_chain::merkle_root(&[]),
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let key_id = audit_chain::key_id(&key.verifying_key());
    let checkpoint = sign_checkpoint(
        CheckpointBody {
            log_id: "tsunagu-audit/bench".into(),
            tree_size: loaded,
            root,
            chain_head: previous,
            signed_at: Utc::now(),
            key_id: key_id.clone(),
        },
        &key,
    );
    client
        .execute(
            "INSERT INTO signing_keys (key_id, public_key, introduced_at) VALUES ($1, $2, now())",
            &[&key_id, &hex(key.verifying_key().as_bytes())],
        )
        .await?;
    client
        .execute(
            "INSERT INTO checkpoints (tree_size, key_id, signed_at, checkpoint) VALUES ($1, $2, $3, $4)",
            &[&(loaded as i64), &key_id, &checkpoint.body.signed_at, &serde_json::to_string(&checkpoint)?],
        )
        .await?;
    client
        .execute(
            "INSERT INTO public.bench_meta (records, patients, members) VALUES ($1, $2, $3)",
            &[&(loaded as i64), &(a.patients as i64), &(a.members as i64)],
        )
        .await?;
    println!(
        "  loaded {loaded} records in {:.0} s; mean canonical record {} bytes",
        started.elapsed().as_secs_f64(),
        bytes_total / loaded.max(1)
    );
    for table in ["records", "merkle_nodes", "patients"] {
        client
            .batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await?;
    }
    Ok(loaded)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let url = std::env::var("TSUNAGU_TEST_AUDIT_DATABASE_URL")
        .context("TSUNAGU_TEST_AUDIT_DATABASE_URL (tests/bench/run audit sets it)")?;
    let data_dir =
        std::env::var("TSUNAGU_BENCH_AUDIT_DATA_DIR").unwrap_or_else(|_| "/var/lib".into());
    let audit_bin = testkit::binary("tsunagu-audit")?;

    // The schema, exactly as the service makes it.
    let nats = testkit::Nats::start().await?;
    let sealing = hex(&[9; 32]);
    let migrate = std::process::Command::new(&audit_bin)
        .arg("migrate")
        .env_clear()
        .envs([
            ("TSUNAGU_NATS_URL", nats.url.as_str()),
            ("TSUNAGU_NAMESPACE", "benchaudit"),
            ("TSUNAGU_DATABASE_URL", url.as_str()),
            ("TSUNAGU_AUDIT_SEALING_KEY", sealing.as_str()),
            ("TSUNAGU_AUDIT_PSEUDONYM_KEY", pseudonym_key()?.as_str()),
            ("RUST_LOG", "warn"),
        ])
        .output()?;
    anyhow::ensure!(
        migrate.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    drop(nats);

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute(
            "SET search_path TO audit_log;
             CREATE TABLE IF NOT EXISTS public.bench_meta (records bigint, patients bigint, members bigint);",
        )
        .await?;
    let kept: Option<(i64, i64, i64)> = client
        .query_opt(
            "SELECT records, patients, members FROM public.bench_meta",
            &[],
        )
        .await?
        .map(|r| (r.get(0), r.get(1), r.get(2)));
    println!(
        "bench-audit: database {:.2} GB, disk free {:.2} GB",
        db_size(&client).await? / GB,
        free_bytes(&data_dir) / GB
    );
    let n = match kept {
        Some((records, patients, members))
            if (records as u64 == a.records
                || records as u64 > 0
                    && a.records > records as u64
                    && free_bytes(&data_dir) / GB < a.min_free_gb + 1.0)
                && patients as u64 == a.patients
                && members as u64 == a.members =>
        {
            println!(
                "reusing the kept log of {records} records; dropping what earlier query runs added after it"
            );
            client
                .batch_execute(&format!(
                    "SET session_replication_role = replica;
                     DELETE FROM records WHERE seq >= {records};
                     DELETE FROM merkle_nodes WHERE ((idx + 1) << level) > {records};
                     DELETE FROM checkpoints WHERE tree_size > {records};
                     TRUNCATE _processed; UPDATE _checkpoint SET position = 0;
                     SET session_replication_role = origin;"
                ))
                .await?;
            records as u64
        }
        _ => {
            println!(
                "loading {} records ({} patients, {} members) by COPY",
                a.records, a.patients, a.members
            );
            load(&client, &a, a.records, &data_dir).await?
        }
    };
    let size: i64 = client
        .query_one("SELECT pg_total_relation_size('audit_log.records')", &[])
        .await?
        .get(0);
    println!(
        "the log: {n} records, records table with indexes {:.2} GB ({} bytes a record), disk free {:.2} GB",
        size as f64 / GB,
        size as u64 / n.max(1),
        free_bytes(&data_dir) / GB
    );

    // Verification rate.
    let started = Instant::now();
    let report = audit::verify::verify(&client).await?;
    let elapsed = started.elapsed();
    println!(
        "verify: {} records, {} checkpoint(s), intact {}, {:.1} s: {:.0} records/s",
        report.records,
        report.checkpoints,
        report.intact,
        elapsed.as_secs_f64(),
        report.records as f64 / elapsed.as_secs_f64()
    );
    anyhow::ensure!(
        report.intact,
        "the loaded log is not intact: {:?}",
        report.first
    );

    // The platform, its audit service on the kept database (tests/bench/run exports
    // TSUNAGU_TEST_AUDIT_DATABASE_URL and TSUNAGU_TEST_AUDIT_PSEUDONYM_KEY for testkit).
    let (p, clock) = start().await?;
    site_of_kind(&p, IZUMO, "監査ベンチ事業所", "clinic", &[]).await?;
    let auditor = auditor(&p, &clock, "auditor.bench", IZUMO).await?;
    let patients = a.patients;
    let query = move |k: u64| month_of(k, patients);
    // Warm-up, and the size of a typical answer.
    let mut rows = 0usize;
    for k in 0..20 {
        let (patient, from, to) = query(k + 1_000_000);
        let (status, body) = tsunagu_tests::accounts::send(
            auditor
                .request(&p, Method::GET, "/api/v1/audit/records")
                .query(&[
                    ("patient_id", patient),
                    ("kind", "patient_access".into()),
                    ("from", from.to_rfc3339()),
                    ("to", to.to_rfc3339()),
                    ("limit", "1000".into()),
                ]),
        )
        .await?;
        anyhow::ensure!(status == 200, "query: {status} {body}");
        rows += body["records"].as_array().map(Vec::len).unwrap_or(0);
    }
    println!(
        "query: a patient's month holds {:.1} accesses on average",
        rows as f64 / 20.0
    );
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.clients {
        let next = next.clone();
        let request = auditor.request(&p, Method::GET, "/api/v1/audit/records");
        let total = a.queries;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if k >= total {
                    return (latencies, errors);
                }
                let (patient, from, to) = query(k as u64);
                let t = Instant::now();
                let answer = request
                    .try_clone()
                    .expect("a GET clones")
                    .query(&[
                        ("patient_id", patient),
                        ("kind", "patient_access".into()),
                        ("from", from.to_rfc3339()),
                        ("to", to.to_rfc3339()),
                        ("limit", "1000".into()),
                    ])
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors += e;
    }
    let wall = started.elapsed();
    latencies.sort();
    println!(
        "query \"accesses to patient P in a month\" through the API, {} clients, {} queries over {n} records: {:.0} req/s  p50 {}  p90 {}  p99 {}  max {}  errors {errors}",
        a.clients,
        latencies.len(),
        latencies.len() as f64 / wall.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.90)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
    );

    // Ingest: access records appended in atomic batches, until the log has them all.
    if a.ingest > 0 {
        // Let the reads above settle into the log first.
        let mut before = head(&client).await?;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = head(&client).await?;
            if now == before {
                break;
            }
            before = now;
        }
        let store = event_store::JetStreamStore::new(
            p.nats.connect().await?,
            event_store::StoreConfig {
                namespace: p.namespace.clone(),
                ..Default::default()
            },
        )?;
        let envelopes: Vec<event_store::EventEnvelope> =
            (0..a.ingest as u64).map(|i| access_event(i, &a)).collect();
        // The collector's share: when the audit stream has grown by as many events (it also
        // takes checkpoints and the log's own reads, so this is at most a little early).
        let copied_before = store.last_sequence(audit_api::CONTEXT).await?;
        let mut copied = None;
        let started = Instant::now();
        for chunk in envelopes.chunks(500) {
            store.append_batch("access", chunk.to_vec()).await?;
        }
        let appended = started.elapsed();
        let target = before + a.ingest as i64;
        let deadline = Instant::now() + Duration::from_secs(600);
        while head(&client).await? < target {
            if copied.is_none()
                && store.last_sequence(audit_api::CONTEXT).await? >= copied_before + a.ingest as u64
            {
                copied = Some(started.elapsed());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the log did not take {} events in 10 minutes",
                a.ingest
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = started.elapsed();
        println!(
            "ingest: {} access records appended in {:.1} s, copied into the audit stream after {}, all chained in the log after {:.1} s: {:.0} events/s end to end",
            a.ingest,
            appended.as_secs_f64(),
            copied.map_or(
                "(not seen before the last record was chained)".into(),
                |c| format!("{:.1} s", c.as_secs_f64())
            ),
            elapsed.as_secs_f64(),
            a.ingest as f64 / elapsed.as_secs_f64()
        );
    }

    // The same walk through the API, in the background as an auditor starts it, also held to
    // the checkpoints and keys the stream publishes.
    let started = Instant::now();
    let answer = auditor
        .request(&p, Method::POST, "/api/v1/audit/verification")
        .send()
        .await?;
    anyhow::ensure!(
        answer.status() == 202,
        "starting a verification: {}",
        answer.status()
    );
    let location = answer.headers()["location"].to_str()?.to_owned();
    let deadline = Instant::now() + Duration::from_secs(3600);
    let report = loop {
        let (status, run) =
            tsunagu_tests::accounts::send(auditor.request(&p, Method::GET, &location)).await?;
        anyhow::ensure!(status == 200 || status == 404, "{status} {run}");
        if run["state"] == "finished" {
            break run["report"].clone();
        }
        anyhow::ensure!(Instant::now() < deadline, "the walk took over an hour");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let elapsed = started.elapsed();
    let records = report["records"].as_u64().unwrap_or(0);
    println!(
        "verify through the API (POST, then GET until finished): {records} records, intact {}, {:.1} s: {:.0} records/s",
        report["intact"],
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// The number of records in the log.
async fn head(c: &tokio_postgres::Client) -> anyhow::Result<i64> {
    Ok(
        c.query_one("SELECT coalesce(max(seq) + 1, 0) FROM records", &[])
            .await?
            .get::<_, i64>(0),
    )
}

/// The pseudonym key of the benchmark log; the platform's audit service gets the same one.
fn pseudonym_key() -> anyhow::Result<String> {
    std::env::var("TSUNAGU_TEST_AUDIT_PSEUDONYM_KEY")
        .context("TSUNAGU_TEST_AUDIT_PSEUDONYM_KEY (tests/bench/run audit sets it)")
}

/// Query `k`: a patient and one month of the year.
fn month_of(k: u64, patients: u64) -> (String, DateTime<Utc>, DateTime<Utc>) {
    let h = mix(k ^ 0x5eed);
    let (start, _) = year();
    let from = start + chrono::Months::new(((h >> 32) % 12) as u32);
    (
        patient_id(h % patients),
        from,
        from + chrono::Months::new(1),
    )
}

/// An `AccessRecorded` as the identity service writes it.
fn access_event(i: u64, a: &Args) -> event_store::EventEnvelope {
    let h = mix(i ^ 0xface);
    let patient = patient_id(h % a.patients);
    let member = Uuid::from_u64_pair(
        0x0190_0000_0000_7000,
        0xa000_0000_0000_0000 | (h % a.members),
    )
    .to_string();
    event_store::EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: "AccessRecorded".into(),
        schema_version: 1,
        visibility: event_store::Visibility::Patient,
        municipality: Some(IZUMO.into()),
        aggregate_type: "patient".into(),
        aggregate_id: patient.clone(),
        occurred_at: Utc::now(),
        actor: event_store::Actor(format!("member:{member}")),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        traceparent: None,
        payload: json!({
            "accessor": {"member_id": member, "session_id": Uuid::now_v7().to_string(), "roles": ["professional"],
                         "profession": "nurse", "sites": [Uuid::from_u64_pair(9, h % 500).to_string()], "municipality": IZUMO},
            "patient_id": patient,
            "reach": {"kind": "read_clinical", "categories": ["care_records"]},
            "resources": ["record"],
            "purpose": "care",
            "decision": {"outcome": "allowed", "categories": ["care_records"], "basis": {"kind": "consent",
                "consent_id": Uuid::from_u64_pair(1, h).to_string(), "version": 1,
                "team_membership": Uuid::from_u64_pair(2, h).to_string(), "site": Uuid::from_u64_pair(9, h % 500).to_string(),
                "family_information": false}},
            "break_glass": false,
            "client_address": "10.0.0.1",
            "route": "GET /api/v1/patients/{patient_id}/record",
            "at": Utc::now(),
        }),
    }
}
