//! The audit log's tamper-evidence, as pure maths: RFC 8785 canonical JSON (the bytes a
//! record is hashed as), the hash chain, RFC 9162 Merkle trees with inclusion and
//! consistency proofs, and Ed25519-signed checkpoints.
//!
//! No I/O, no clock, no async: the audit service feeds it rows and stores what it returns,
//! and anyone holding a record, a proof and a checkpoint can check them with this crate
//! alone.
//!
//! # What it promises
//!
//! - A record's hash depends on its value, not on how it was written: [`canonical_json`]
//!   gives one byte form per JSON value, and refuses numbers that form would round.
//! - Leaves and nodes never hash alike ([`leaf_hash`], [`node_hash`]), and the chain
//!   ([`chain_hash`]) depends on every record and its order.
//! - Proofs are exactly RFC 9162's, hash for hash, so any RFC 9162 (or RFC 6962, the same
//!   trees with SHA-256) verifier accepts them. A store that keeps perfect subtrees builds
//!   them from [`inclusion_ranges`] / [`consistency_ranges`], [`LeafRange::subtrees`] and
//!   [`range_hash`]; [`MemoryTree`] is that store in memory.
//! - A checkpoint's signature covers the canonical JSON of its body, which survives a trip
//!   through any JSON parser: [`verify_checkpoint`] re-derives the bytes.

mod canonical;
mod checkpoint;
mod hash;
mod merkle;

pub use canonical::{CanonicalError, canonical_json};
pub use checkpoint::{
    CheckpointBody, CheckpointError, SignedCheckpoint, key_id, sign_checkpoint, verify_checkpoint,
};
pub use hash::{Digest, DigestError, chain_hash, leaf_hash, node_hash};
pub use merkle::{
    LeafRange, MemoryTree, ProofError, Subtree, consistency_ranges, inclusion_ranges, merkle_root,
    range_hash, verify_consistency, verify_inclusion,
};
