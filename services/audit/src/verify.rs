//! `audit verify`: walk the log and the checkpoints, and name the first record altered,
//! deleted, inserted, reordered or duplicated, and every checkpoint that does not hold.
//!
//! The walk is pure ([`Walker`]): rows go in, in the order the database keeps them, and
//! findings come out. Each row is checked three ways: its bytes against its leaf hash, its
//! place against the `seq` written inside it, and its chain hash against the row before
//! (or the row before that, which is how an inserted row shows itself). The checkpoints,
//! signed and also kept on the stream, then catch what a consistent rewrite of the rows or
//! a truncation would hide.

use crate::AuditError;
use std::collections::HashMap;

use audit_api::{AuditRecord, Finding, Problem, VerifyReport};
use audit_chain::{
    CheckpointError, Digest, SignedCheckpoint, chain_hash, leaf_hash, node_hash, verify_checkpoint,
};
use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;

/// At most this many problems are listed (the first is what matters).
const MAX_PROBLEMS: usize = 100;

/// One stored row, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The `seq` column.
    pub seq: u64,
    /// The record's bytes.
    pub record: Vec<u8>,
    /// The stored leaf hash.
    pub leaf_hash: Vec<u8>,
    /// The stored chain hash.
    pub chain_hash: Vec<u8>,
    /// The columns queries read, which must say what the record says.
    pub columns: Columns,
}

/// The indexed columns of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub member_id: Option<String>,
    pub patient: Option<String>,
    pub outcome: Option<String>,
}

impl Columns {
    fn of(record: &AuditRecord) -> Self {
        Self {
            // Postgres keeps microseconds.
            at: DateTime::from_timestamp_micros(record.at.timestamp_micros()).unwrap_or(record.at),
            kind: record.kind.as_str().to_owned(),
            member_id: record.member_id.clone(),
            patient: record.patient.clone(),
            outcome: record.outcome.clone(),
        }
    }
}

/// Merkle roots of a growing list of leaves, with O(log n) memory.
#[derive(Debug, Default, Clone)]
struct Frontier {
    /// Perfect subtrees, largest first: (level, hash).
    stack: Vec<(u32, Digest)>,
}

impl Frontier {
    fn push(&mut self, leaf: Digest) {
        let mut node = (0, leaf);
        while let Some(&(level, left)) = self.stack.last() {
            if level != node.0 {
                break;
            }
            self.stack.pop();
            node = (level + 1, node_hash(&left, &node.1));
        }
        self.stack.push(node);
    }

    fn root(&self) -> Digest {
        let mut parts = self.stack.iter().rev();
        let Some(&(_, mut acc)) = parts.next() else {
            return audit_chain::merkle_root(&[]);
        };
        for (_, left) in parts {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// Walks rows in order and collects what is wrong.
#[derive(Debug, Default)]
pub struct Walker {
    /// The place the next row should have.
    place: u64,
    /// Chain hashes the next row may link to (the stored and the recomputed one).
    links: Vec<Digest>,
    /// The same, one row further back: a row linking there means the row between was
    /// inserted.
    links_before: Vec<Digest>,
    previous_bytes: Option<Vec<u8>>,
    frontier: Frontier,
    /// The stored chain hash and recomputed root after each place, for the checkpoint sizes.
    heads: HashMap<u64, (Digest, Digest)>,
    wanted_sizes: std::collections::HashSet<u64>,
    problems: Vec<Problem>,
    rows: u64,
    chain_head: Digest,
}

impl Walker {
    /// A walker that will be asked about checkpoints of these sizes.
    pub fn new(checkpoint_sizes: impl IntoIterator<Item = u64>) -> Self {
        Self {
            links: vec![Digest::ZERO],
            wanted_sizes: checkpoint_sizes.into_iter().collect(),
            ..Self::default()
        }
    }

    fn report(
        &mut self,
        finding: Finding,
        seq: Option<u64>,
        checkpoint: Option<u64>,
        detail: String,
    ) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                finding,
                seq,
                checkpoint,
                detail,
            });
        }
    }

    /// Takes the next row.
    pub fn row(&mut self, row: &Row) {
        self.rows += 1;
        let stored_leaf = Digest::from_slice(&row.leaf_hash).unwrap_or(Digest::ZERO);
        let stored_chain = Digest::from_slice(&row.chain_hash).unwrap_or(Digest::ZERO);
        let leaf = leaf_hash(&row.record);
        let links_to = |candidates: &[Digest]| {
            candidates.iter().any(|c| {
                chain_hash(c, &leaf) == stored_chain || chain_hash(c, &stored_leaf) == stored_chain
            })
        };
        let linked = links_to(&self.links);
        let linked_before = links_to(&self.links_before);
        let parsed: Option<AuditRecord> = serde_json::from_slice(&row.record).ok();

        let mut flagged = false;
        if row.seq > self.place {
            let missing = row.seq - self.place;
            self.report(
                Finding::Deleted,
                Some(self.place),
                None,
                format!("{missing} record(s) missing from {} on", self.place),
            );
            self.place = row.seq;
            flagged = true;
        }
        let place = self.place;
        if !flagged {
            if leaf != stored_leaf || parsed.is_none() {
                self.report(
                    Finding::Altered,
                    Some(place),
                    None,
                    "the record's bytes do not match its leaf hash".into(),
                );
            } else if self.previous_bytes.as_deref() == Some(row.record.as_slice()) {
                self.report(
                    Finding::Duplicated,
                    Some(place),
                    None,
                    "the same record as the one before".into(),
                );
            } else if let Some(record) = &parsed
                && record.seq != place
            {
                if record.seq < place && linked_before {
                    self.report(
                        Finding::Inserted,
                        Some(place - 1),
                        None,
                        format!("record {} links past the record before it", record.seq),
                    );
                } else {
                    self.report(
                        Finding::Reordered,
                        Some(place),
                        None,
                        format!("record {} found where record {place} belongs", record.seq),
                    );
                }
            } else if !linked {
                if linked_before {
                    self.report(
                        Finding::Inserted,
                        Some(place.saturating_sub(1)),
                        None,
                        "the record links past the record before it".into(),
                    );
                } else {
                    self.report(
                        Finding::Altered,
                        Some(place),
                        None,
                        "the chain hash does not follow from the record before".into(),
                    );
                }
            } else if let Some(record) = &parsed
                && Columns::of(record) != row.columns
            {
                self.report(
                    Finding::Altered,
                    Some(place),
                    None,
                    "the indexed columns differ from the record".into(),
                );
            }
        }

        let recomputed = chain_hash(self.links.first().unwrap_or(&Digest::ZERO), &leaf);
        self.links_before = std::mem::take(&mut self.links);
        self.links = if recomputed == stored_chain {
            vec![stored_chain]
        } else {
            vec![stored_chain, recomputed]
        };
        self.previous_bytes = Some(row.record.clone());
        self.frontier.push(leaf);
        self.chain_head = stored_chain;
        self.place += 1;
        if self.wanted_sizes.contains(&self.place) {
            self.heads
                .insert(self.place, (stored_chain, self.frontier.root()));
        }
    }

    /// Checks the checkpoints (with their keys: id → key, `None` when unknown) and returns
    /// the report.
    pub fn finish(
        mut self,
        checkpoints: &[SignedCheckpoint],
        keys: &HashMap<String, ed25519_dalek::VerifyingKey>,
    ) -> VerifyReport {
        let mut truncated = false;
        for checkpoint in checkpoints {
            let size = checkpoint.body.tree_size;
            match keys.get(&checkpoint.body.key_id) {
                None => self.report(
                    Finding::BadSignature,
                    None,
                    Some(size),
                    format!("signed by unknown key {}", checkpoint.body.key_id),
                ),
                Some(key) => match verify_checkpoint(checkpoint, key) {
                    Ok(()) => {}
                    Err(CheckpointError::BadSignature) | Err(CheckpointError::Malformed(_)) => self
                        .report(
                            Finding::BadSignature,
                            None,
                            Some(size),
                            "the signature does not hold".into(),
                        ),
                },
            }
            if size > self.place {
                if !truncated {
                    truncated = true;
                    let place = self.place;
                    self.report(
                        Finding::Truncated,
                        Some(place),
                        Some(size),
                        format!("the log ends at {place} records; a checkpoint covers {size}"),
                    );
                }
                continue;
            }
            if let Some((head, root)) = self.heads.get(&size).copied()
                && (head != checkpoint.body.chain_head || root != checkpoint.body.root)
            {
                self.report(
                    Finding::CheckpointMismatch,
                    None,
                    Some(size),
                    "the log's chain head or Merkle root at this size differs from the signed one"
                        .into(),
                );
            }
        }
        // The first problem is the one with the lowest place in the log; problems about a
        // checkpoint alone come after those about records.
        let first = self
            .problems
            .iter()
            .min_by_key(|p| (p.seq.is_none(), p.seq, p.checkpoint))
            .cloned();
        VerifyReport {
            intact: self.problems.is_empty(),
            records: self.rows,
            checkpoints: checkpoints.len() as u64,
            first,
            problems: self.problems,
            chain_head: self.chain_head,
            root: self.frontier.root(),
        }
    }
}

/// The copy of the checkpoints and keys that lives outside the database: as published on
/// the audit stream.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Every `CheckpointSigned`.
    pub checkpoints: Vec<SignedCheckpoint>,
    /// Every `SigningKeyIntroduced`: key id → Ed25519 public key (hex).
    pub keys: HashMap<String, String>,
}

/// Reads the checkpoints and keys published on the audit stream.
pub async fn published(store: &event_store::JetStreamStore) -> Result<Published, AuditError> {
    use event_store::EventContract as _;
    use futures::StreamExt as _;
    let mut out = Published::default();
    let last = store.last_sequence(audit_api::CONTEXT).await?;
    if last == 0 {
        return Ok(out);
    }
    let filters = vec![
        store.aggregate_type_filter(audit_api::CONTEXT, audit_api::aggregates::CHECKPOINT),
        store.aggregate_type_filter(audit_api::CONTEXT, audit_api::aggregates::SIGNING_KEY),
    ];
    let mut events = store.subscribe(audit_api::CONTEXT, filters, 1).await?;
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), events.next()).await;
        let Ok(Some(delivered)) = next else { break };
        let delivered = delivered?;
        if let Ok(envelope) = &delivered.envelope {
            match audit_api::AuditEvent::decode(
                &envelope.event_type,
                envelope.schema_version,
                envelope.payload.clone(),
            ) {
                Ok(audit_api::AuditEvent::CheckpointSigned { checkpoint }) => {
                    out.checkpoints.push(checkpoint)
                }
                Ok(audit_api::AuditEvent::SigningKeyIntroduced { key_id, public_key }) => {
                    out.keys.insert(key_id, public_key);
                }
                _ => {}
            }
        }
        if delivered.pending == 0 {
            break;
        }
    }
    Ok(out)
}

/// Walks the log of the database `client` is connected to (schema on its search path),
/// reporting progress every million records.
pub async fn verify(client: &impl GenericClient) -> Result<VerifyReport, tokio_postgres::Error> {
    verify_against(client, None).await
}

/// Like [`verify`], also holding the database to the checkpoints and keys published on the
/// stream: a checkpoint deleted from the database, or a log truncated and its checkpoints
/// removed with it, shows against the copy outside.
pub async fn verify_against(
    client: &impl GenericClient,
    published: Option<&Published>,
) -> Result<VerifyReport, tokio_postgres::Error> {
    let stored_keys: HashMap<String, String> = client
        .query("SELECT key_id, public_key FROM signing_keys", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut outside_problems = Vec::new();
    let mut key_texts = stored_keys.clone();
    if let Some(p) = published {
        for (id, key) in &p.keys {
            if stored_keys.get(id).is_some_and(|k| k != key) {
                outside_problems.push(Problem {
                    finding: Finding::BadSignature,
                    seq: None,
                    checkpoint: None,
                    detail: format!(
                        "the database holds another public key for {id} than the stream"
                    ),
                });
            }
            // The stream's copy is the one to trust.
            key_texts.insert(id.clone(), key.clone());
        }
    }
    let keys: HashMap<String, ed25519_dalek::VerifyingKey> = key_texts
        .iter()
        .filter_map(|(id, text)| {
            let bytes: [u8; 32] = hex::decode(text).ok()?.try_into().ok()?;
            Some((
                id.clone(),
                ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()?,
            ))
        })
        .collect();
    let mut checkpoints = Vec::new();
    for row in client
        .query("SELECT checkpoint FROM checkpoints ORDER BY tree_size", &[])
        .await?
    {
        let text: String = row.get(0);
        match serde_json::from_str::<SignedCheckpoint>(&text) {
            Ok(c) => checkpoints.push(c),
            Err(e) => tracing::warn!(error = %e, "a stored checkpoint is unreadable"),
        }
    }
    if let Some(p) = published {
        let stored: HashMap<u64, SignedCheckpoint> = checkpoints
            .iter()
            .map(|c| (c.body.tree_size, c.clone()))
            .collect();
        for c in &p.checkpoints {
            let size = c.body.tree_size;
            match stored.get(&size) {
                Some(mine) if mine == c => {}
                Some(_) => outside_problems.push(Problem {
                    finding: Finding::CheckpointMismatch,
                    seq: None,
                    checkpoint: Some(size),
                    detail: "the database's copy differs from the one published on the stream"
                        .into(),
                }),
                None => {
                    outside_problems.push(Problem {
                        finding: Finding::CheckpointMismatch,
                        seq: None,
                        checkpoint: Some(size),
                        detail: "published on the stream, missing from the database".into(),
                    });
                    checkpoints.push(c.clone());
                }
            }
        }
        checkpoints.sort_by_key(|c| c.body.tree_size);
        checkpoints.dedup_by_key(|c| c.body.tree_size);
    }
    let mut walker = Walker::new(checkpoints.iter().map(|c| c.body.tree_size));
    walker.problems.extend(outside_problems);
    let mut after: i64 = -1;
    let started = std::time::Instant::now();
    loop {
        let rows = client
            .query(
                "SELECT seq, record, leaf_hash, chain_hash, at, kind, member_id, patient, outcome
                 FROM records WHERE seq > $1 ORDER BY seq LIMIT 10000",
                &[&after],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.get(0);
        for r in &rows {
            walker.row(&Row {
                seq: r.get::<_, i64>(0) as u64,
                record: r.get(1),
                leaf_hash: r.get(2),
                chain_hash: r.get(3),
                columns: Columns {
                    at: r.get(4),
                    kind: r.get(5),
                    member_id: r.get(6),
                    patient: r.get(7),
                    outcome: r.get(8),
                },
            });
            if walker.rows.is_multiple_of(1_000_000) {
                tracing::info!(
                    records = walker.rows,
                    elapsed_s = started.elapsed().as_secs_f64(),
                    "verifying"
                );
            }
        }
    }
    Ok(walker.finish(&checkpoints, &keys))
}
