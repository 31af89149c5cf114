//! The log itself: a projection of the audit stream that chains every record in stream
//! order, keeps the Merkle subtrees proofs need, and stores the keys and checkpoints the
//! stream publishes.
//!
//! The chain is a projection like any other (one transaction per batch with the
//! checkpoint, events de-duplicated by id), so a replay from sequence 0 into a fresh schema
//! gives the same rows, hash for hash.

use audit_api::{AuditEvent, AuditRecord, RecordKind, RecordSource};
use audit_chain::{Digest, LeafRange, Subtree, chain_hash, leaf_hash, merkle_root, node_hash};
use deadpool_postgres::Transaction;
use event_store::{EventContract, RecordedEvent};
use projection_runner::{ApplyError, Migration, Projection};
use tokio_postgres::GenericClient;

use crate::records::{self, Pseudonyms};

/// The live schema.
pub const SCHEMA: &str = "audit_log";

/// Subtrees of 2^NODE_LEVEL leaves and more are stored; smaller ones are hashed from the
/// leaves when needed.
pub const NODE_LEVEL: u32 = 8;

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "0001_log",
        sql: include_str!("../migrations/log_0001.sql"),
    },
    Migration {
        version: "0002_verifications",
        sql: include_str!("../migrations/log_0002.sql"),
    },
    Migration {
        version: "0003_names",
        sql: include_str!("../migrations/log_0003.sql"),
    },
];

/// The log's tables, compared after a rebuild.
pub const TABLES: &[&str] = &[
    "records",
    "merkle_nodes",
    "checkpoints",
    "signing_keys",
    "patients",
    "verifications",
    "verification_reports",
    "names",
];

/// The chaining projection.
pub struct Log {
    /// Turns patient ids into the pseudonyms the chain holds.
    pub pseudonyms: Pseudonyms,
}

impl Projection for Log {
    fn name(&self) -> &'static str {
        SCHEMA
    }

    fn context(&self) -> &'static str {
        audit_api::CONTEXT
    }

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    /// One code path for one event and for many: the head is read once, the records are
    /// chained in memory and inserted together, then the Merkle subtrees they complete are
    /// stored in order. A replay (batch by batch) and the live log (event by event, or
    /// batch by batch) give the same rows.
    async fn apply(
        &self,
        tx: &Transaction<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let (mut seq, mut previous) = head(&**tx).await?;
        let mut chained: Vec<Chained> = Vec::new();
        let mut patients: Vec<(String, String)> = Vec::new();
        for event in events {
            let envelope = &event.envelope;
            let decoded = AuditEvent::decode(
                &envelope.event_type,
                envelope.schema_version,
                envelope.payload.clone(),
            )?;
            let Some((record, patient_id)) = self.record_of(seq, event, decoded.clone()) else {
                self.apply_other(tx, event, decoded).await?;
                continue;
            };
            if let (Some(pseudonym), Some(id)) = (&record.patient, patient_id) {
                if record.event_type == "PatientErased" {
                    // Whatever came before in this batch first, then the forgetting.
                    insert_patients(tx, &std::mem::take(&mut patients)).await?;
                    tx.execute(
                        "INSERT INTO patients (pseudonym, patient_id) VALUES ($1, NULL)
                         ON CONFLICT (pseudonym) DO UPDATE SET patient_id = NULL",
                        &[pseudonym],
                    )
                    .await?;
                } else {
                    patients.push((pseudonym.clone(), id));
                }
            }
            let bytes =
                records::canonical(&record).map_err(|e| ApplyError::Poison(e.to_string()))?;
            let leaf = leaf_hash(&bytes);
            let chain = chain_hash(&previous, &leaf);
            previous = chain;
            seq += 1;
            chained.push(Chained {
                record,
                bytes,
                leaf,
                chain,
            });
        }
        insert_patients(tx, &patients).await?;
        insert_records(tx, &chained).await?;
        for c in &chained {
            remember_name(tx, &c.record).await?;
        }
        for c in &chained {
            store_completed_subtrees(tx, c.record.seq + 1).await?;
        }
        Ok(())
    }
}

/// A member's or site's name, as a record of its registration (or a site's new details)
/// says it, for the reports to name people and places.
async fn remember_name(tx: &Transaction<'_>, record: &AuditRecord) -> Result<(), ApplyError> {
    let d = &record.detail;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let (kind, id, name, profession, municipality) = match record.event_type.as_str() {
        "MemberInvited" | "MemberSelfRegistered" => (
            "member",
            text(&d["member_id"]),
            text(&d["name"]),
            text(&d["profession"]),
            text(&d["municipality"]),
        ),
        "SiteRegistered" | "SiteDetailsChanged" => (
            "site",
            text(&d["site_id"]),
            text(&d["entry"]["name"]),
            None,
            text(&d["entry"]["home_municipality"]),
        ),
        _ => return Ok(()),
    };
    let (Some(id), Some(name)) = (id, name) else {
        return Ok(());
    };
    tx.execute(
        "INSERT INTO names (kind, id, name, profession, municipality) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, id) DO UPDATE
            SET name = EXCLUDED.name,
                profession = COALESCE(EXCLUDED.profession, names.profession),
                municipality = COALESCE(EXCLUDED.municipality, names.municipality)",
        &[&kind, &id, &name, &profession, &municipality],
    )
    .await?;
    Ok(())
}

/// A record with its bytes and hashes, ready to insert.
struct Chained {
    record: AuditRecord,
    bytes: Vec<u8>,
    leaf: Digest,
    chain: Digest,
}

impl Log {
    /// The record an audit-stream event makes at place `seq`, and the patient's id if it
    /// names one; `None` for the events that make no record (keys, checkpoints, walks).
    fn record_of(
        &self,
        seq: u64,
        event: &RecordedEvent,
        decoded: AuditEvent,
    ) -> Option<(AuditRecord, Option<String>)> {
        let envelope = &event.envelope;
        match decoded {
            AuditEvent::Collected { source, event } => {
                let source = RecordSource {
                    stream: source.stream,
                    sequence: source.sequence,
                    event_id: event.event_id.to_string(),
                };
                records::record_of(seq, source, &event, &self.pseudonyms)
            }
            AuditEvent::AuditLogRead {
                reader,
                query,
                parameters,
                results,
                client_address,
            } => Some((
                AuditRecord {
                    seq,
                    source: RecordSource {
                        stream: event.position.stream.clone(),
                        sequence: event.position.sequence,
                        event_id: envelope.event_id.to_string(),
                    },
                    event_type: envelope.event_type.clone(),
                    kind: RecordKind::AuditRead,
                    at: envelope.occurred_at,
                    actor: envelope.actor.0.clone(),
                    member_id: Some(reader.member_id),
                    session_id: Some(reader.session_id),
                    roles: reader.roles,
                    sites: reader.sites,
                    municipality: reader.municipality,
                    patient: None,
                    outcome: None,
                    reason: serde_json::Value::Null,
                    categories: Vec::new(),
                    resources: Vec::new(),
                    purpose: Some("audit".into()),
                    break_glass: false,
                    client_address,
                    route: None,
                    detail: serde_json::json!({ "query": query, "parameters": parameters, "results": results }),
                },
                None,
            )),
            _ => None,
        }
    }

    /// The events beside the chain: keys, checkpoints, verification walks.
    async fn apply_other(
        &self,
        tx: &Transaction<'_>,
        event: &RecordedEvent,
        decoded: AuditEvent,
    ) -> Result<(), ApplyError> {
        let envelope = &event.envelope;
        match decoded {
            AuditEvent::Collected { .. } | AuditEvent::AuditLogRead { .. } => {}
            AuditEvent::SigningKeyIntroduced { key_id, public_key } => {
                tx.execute(
                    "INSERT INTO signing_keys (key_id, public_key, introduced_at) VALUES ($1, $2, $3)
                     ON CONFLICT (key_id) DO NOTHING",
                    &[&key_id, &public_key, &envelope.occurred_at],
                )
                .await?;
            }
            AuditEvent::SigningKeyRetired { key_id } => {
                tx.execute(
                    "UPDATE signing_keys SET retired_at = $2 WHERE key_id = $1 AND retired_at IS NULL",
                    &[&key_id, &envelope.occurred_at],
                )
                .await?;
            }
            AuditEvent::CheckpointSigned { checkpoint } => {
                let text = serde_json::to_string(&checkpoint)
                    .map_err(|e| ApplyError::Poison(e.to_string()))?;
                tx.execute(
                    "INSERT INTO checkpoints (tree_size, key_id, signed_at, checkpoint)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING",
                    &[
                        &(checkpoint.body.tree_size as i64),
                        &checkpoint.body.key_id,
                        &checkpoint.body.signed_at,
                        &text,
                    ],
                )
                .await?;
            }
            AuditEvent::VerificationStarted {
                run_id,
                requested_by,
                tree_size,
            } => {
                tx.execute(
                    "INSERT INTO verifications (run_id, requested_by, tree_size, started_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (run_id) DO NOTHING",
                    &[
                        &run_id,
                        &requested_by,
                        &(tree_size as i64),
                        &envelope.occurred_at,
                    ],
                )
                .await?;
            }
            AuditEvent::VerificationFinished { run_id, report } => {
                let json =
                    serde_json::to_value(&report).map_err(|e| ApplyError::Poison(e.to_string()))?;
                tx.execute(
                    "INSERT INTO verification_reports (run_id, finished_at, intact, report)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (run_id) DO NOTHING",
                    &[&run_id, &envelope.occurred_at, &report.intact, &json],
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// The next record's place and the chain hash before it.
pub async fn head(client: &impl GenericClient) -> Result<(u64, Digest), tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT seq, chain_hash FROM records ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?;
    Ok(match row {
        None => (0, Digest::ZERO),
        Some(row) => {
            let seq: i64 = row.get(0);
            let hash: Vec<u8> = row.get(1);
            (
                seq as u64 + 1,
                Digest::from_slice(&hash).unwrap_or(Digest::ZERO),
            )
        }
    })
}

/// Rows a multi-row statement carries at most (13 parameters each, under Postgres's 65,535).
const ROWS_PER_INSERT: usize = 1000;

/// Inserts chained records, in place order.
async fn insert_records(
    tx: &Transaction<'_>,
    chained: &[Chained],
) -> Result<(), tokio_postgres::Error> {
    for part in chained.chunks(ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO records (seq, at, kind, member_id, session_id, sites, municipality,
                                  patient, outcome, break_glass, record, leaf_hash, chain_hash)
             VALUES ",
        );
        let mut owned: Vec<(i64, &'static str, &[u8], &[u8])> = Vec::with_capacity(part.len());
        for c in part {
            owned.push((
                c.record.seq as i64,
                c.record.kind.as_str(),
                c.leaf.as_bytes().as_slice(),
                c.chain.as_bytes().as_slice(),
            ));
        }
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            Vec::with_capacity(part.len() * 13);
        for (n, (c, o)) in part.iter().zip(&owned).enumerate() {
            if n > 0 {
                sql.push(',');
            }
            let b = n * 13;
            sql.push('(');
            for k in 1..=13 {
                if k > 1 {
                    sql.push(',');
                }
                sql.push_str(&format!("${}", b + k));
            }
            sql.push(')');
            params.extend_from_slice(&[
                &o.0,
                &c.record.at,
                &o.1,
                &c.record.member_id,
                &c.record.session_id,
                &c.record.sites,
                &c.record.municipality,
                &c.record.patient,
                &c.record.outcome,
                &c.record.break_glass,
                &c.bytes,
                &o.2,
                &o.3,
            ]);
        }
        tx.execute(sql.as_str(), &params).await?;
    }
    Ok(())
}

/// Remembers which patient each pseudonym is (until erased).
async fn insert_patients(
    tx: &Transaction<'_>,
    patients: &[(String, String)],
) -> Result<(), tokio_postgres::Error> {
    if patients.is_empty() {
        return Ok(());
    }
    let (pseudonyms, ids): (Vec<&str>, Vec<&str>) = patients
        .iter()
        .map(|(p, id)| (p.as_str(), id.as_str()))
        .unzip();
    let statement = tx
        .prepare_cached(
            "INSERT INTO patients (pseudonym, patient_id)
             SELECT * FROM unnest($1::text[], $2::text[])
             ON CONFLICT (pseudonym) DO NOTHING",
        )
        .await?;
    tx.execute(&statement, &[&pseudonyms, &ids]).await?;
    Ok(())
}

/// Once the log holds `size` records: stores the subtrees of 2^NODE_LEVEL leaves and more
/// that its last record completed.
async fn store_completed_subtrees(
    tx: &Transaction<'_>,
    size: u64,
) -> Result<(), tokio_postgres::Error> {
    if !size.is_multiple_of(1 << NODE_LEVEL) {
        return Ok(());
    }
    let first = size - (1 << NODE_LEVEL);
    let leaves = leaf_hashes(&**tx, first, size).await?;
    let mut level = NODE_LEVEL;
    let mut index = (size >> NODE_LEVEL) - 1;
    let mut hash = merkle_root(&leaves);
    store_node(tx, level, index, &hash).await?;
    // A right child completes its parent.
    while index % 2 == 1 {
        let left = stored_node(
            &**tx,
            Subtree {
                level,
                index: index - 1,
            },
        )
        .await?;
        hash = node_hash(&left, &hash);
        level += 1;
        index /= 2;
        store_node(tx, level, index, &hash).await?;
    }
    Ok(())
}

async fn store_node(
    tx: &Transaction<'_>,
    level: u32,
    index: u64,
    hash: &Digest,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO merkle_nodes (level, idx, hash) VALUES ($1, $2, $3)",
        &[
            &(level as i32),
            &(index as i64),
            &hash.as_bytes().as_slice(),
        ],
    )
    .await?;
    Ok(())
}

async fn stored_node(
    client: &impl GenericClient,
    subtree: Subtree,
) -> Result<Digest, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT hash FROM merkle_nodes WHERE level = $1 AND idx = $2",
            &[&(subtree.level as i32), &(subtree.index as i64)],
        )
        .await?;
    let bytes: Vec<u8> = row.map(|r| r.get(0)).unwrap_or_default();
    Ok(Digest::from_slice(&bytes).unwrap_or(Digest::ZERO))
}

/// Leaf hashes of records `[start, end)`, by `seq`.
pub async fn leaf_hashes(
    client: &impl GenericClient,
    start: u64,
    end: u64,
) -> Result<Vec<Digest>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT leaf_hash FROM records WHERE seq >= $1 AND seq < $2 ORDER BY seq",
            &[&(start as i64), &(end as i64)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Digest::from_slice(&r.get::<_, Vec<u8>>(0)).unwrap_or(Digest::ZERO))
        .collect())
}

/// The hash of a perfect subtree: stored from [`NODE_LEVEL`] up, hashed from leaves below.
pub async fn subtree_hash(
    client: &impl GenericClient,
    subtree: Subtree,
) -> Result<Digest, tokio_postgres::Error> {
    if subtree.level >= NODE_LEVEL {
        return stored_node(client, subtree).await;
    }
    let start = subtree.index << subtree.level;
    let leaves = leaf_hashes(client, start, start + (1 << subtree.level)).await?;
    Ok(merkle_root(&leaves))
}

/// RFC 9162 MTH of records `[start, end)`.
pub async fn range_hash(
    client: &impl GenericClient,
    range: LeafRange,
) -> Result<Digest, tokio_postgres::Error> {
    let mut parts = Vec::new();
    for subtree in range.subtrees() {
        parts.push(subtree_hash(client, subtree).await?);
    }
    Ok(audit_chain::range_hash(&parts))
}

/// The Merkle root of the first `size` records.
pub async fn root(client: &impl GenericClient, size: u64) -> Result<Digest, tokio_postgres::Error> {
    if size == 0 {
        return Ok(merkle_root(&[]));
    }
    range_hash(
        client,
        LeafRange {
            start: 0,
            end: size,
        },
    )
    .await
}
