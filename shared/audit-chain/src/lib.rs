//! The audit log's tamper-evidence, pure: RFC 8785 canonical JSON (the bytes a record is
//! hashed as), the hash chain, RFC 9162 Merkle trees with inclusion and consistency proofs,
//! and Ed25519-signed checkpoints. No I/O: the audit service feeds it rows, and anyone
//! holding a record, a proof and a checkpoint can check them with this crate alone.

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
    LeafRange, ProofError, Subtree, consistency_ranges, inclusion_ranges, merkle_root, range_hash,
    verify_consistency, verify_inclusion,
};

/// A tree over leaf hashes held in memory: for tests, small logs and external verifiers.
#[derive(Debug, Clone)]
pub struct MemoryTree {
    leaves: Vec<Digest>,
}

impl MemoryTree {
    pub fn new(leaves: Vec<Digest>) -> Self {
        Self { leaves }
    }

    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    pub fn root(&self) -> Digest {
        merkle_root(&self.leaves)
    }

    /// The root of the first `n` leaves.
    pub fn root_at(&self, n: u64) -> Digest {
        merkle_root(&self.leaves[..n as usize])
    }

    pub fn subtree(&self, s: Subtree) -> Digest {
        let start = (s.index << s.level) as usize;
        merkle_root(&self.leaves[start..start + (1usize << s.level)])
    }

    pub fn range(&self, r: LeafRange) -> Digest {
        merkle_root(&self.leaves[r.start as usize..r.end as usize])
    }

    fn hashes(&self, ranges: Vec<LeafRange>) -> Vec<Digest> {
        ranges
            .into_iter()
            .map(|r| {
                range_hash(
                    &r.subtrees()
                        .into_iter()
                        .map(|s| self.subtree(s))
                        .collect::<Vec<_>>(),
                )
            })
            .collect()
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Digest>, ProofError> {
        if size > self.size() {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        Ok(self.hashes(inclusion_ranges(index, size)?))
    }

    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Digest>, ProofError> {
        if second > self.size() {
            return Err(ProofError::BadSizes { first, second });
        }
        Ok(self.hashes(consistency_ranges(first, second)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::Digest as _;

    fn leaves(n: u64) -> Vec<Digest> {
        (0..n)
            .map(|i| leaf_hash(format!("record {i}").as_bytes()))
            .collect()
    }

    /// RFC 9162 §2.1.1, word for word.
    fn mth(d: &[Digest]) -> Digest {
        match d.len() {
            0 => Digest(sha2::Sha256::digest([]).into()),
            1 => d[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    /// RFC 9162 §2.1.3.1 PATH.
    fn reference_path(m: usize, d: &[Digest]) -> Vec<Digest> {
        let n = d.len();
        if n <= 1 {
            return Vec::new();
        }
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        if m < k {
            let mut p = reference_path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = reference_path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// RFC 9162 §2.1.4.1 SUBPROOF.
    fn reference_subproof(m: usize, d: &[Digest], b: bool) -> Vec<Digest> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![mth(d)] };
        }
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        if m <= k {
            let mut p = reference_subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = reference_subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    #[test]
    fn roots_are_rfc_9162_roots() {
        for n in 0..=20 {
            assert_eq!(merkle_root(&leaves(n)), mth(&leaves(n)), "{n} leaves");
        }
    }

    #[test]
    fn every_inclusion_proof_up_to_64_leaves_is_the_rfc_path_and_holds() {
        for n in 1..=64u64 {
            let tree = MemoryTree::new(leaves(n));
            let d = leaves(n);
            for m in 0..n {
                let proof = tree.inclusion_proof(m, n).unwrap();
                assert_eq!(proof, reference_path(m as usize, &d), "{m} of {n}");
                verify_inclusion(m, n, &d[m as usize], &proof, &tree.root()).unwrap();
            }
        }
    }

    #[test]
    fn every_consistency_proof_up_to_64_leaves_is_the_rfc_subproof_and_holds() {
        let d = leaves(64);
        let tree = MemoryTree::new(d.clone());
        for n in 1..=64u64 {
            for m in 1..=n {
                let proof = tree.consistency_proof(m, n).unwrap();
                let expected = if m == n {
                    Vec::new()
                } else {
                    reference_subproof(m as usize, &d[..n as usize], true)
                };
                assert_eq!(proof, expected, "{m} → {n}");
                verify_consistency(m, n, &tree.root_at(m), &tree.root_at(n), &proof).unwrap();
            }
        }
    }

    #[test]
    fn a_range_is_the_fold_of_its_subtrees() {
        let tree = MemoryTree::new(leaves(100));
        for n in 1..=100u64 {
            for m in 0..n {
                for r in inclusion_ranges(m, n).unwrap() {
                    let parts: Vec<Digest> =
                        r.subtrees().into_iter().map(|s| tree.subtree(s)).collect();
                    assert_eq!(range_hash(&parts), tree.range(r), "{r:?}");
                }
            }
        }
    }

    #[test]
    fn the_chain_depends_on_order() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let ab = chain_hash(&chain_hash(&Digest::ZERO, &a), &b);
        let ba = chain_hash(&chain_hash(&Digest::ZERO, &b), &a);
        assert_ne!(ab, ba);
    }

    #[test]
    fn digests_read_back_from_hex_and_json() {
        let d = leaf_hash(b"x");
        assert_eq!(Digest::from_hex(&d.to_hex()).unwrap(), d);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(Digest::from_hex("zz").is_err());
        assert!(Digest::from_slice(&[0; 31]).is_err());
    }

    proptest! {
        #[test]
        fn a_tampered_proof_never_holds(n in 2u64..200, m_seed in any::<u64>(), first_seed in any::<u64>(), which in any::<usize>(), byte in 0usize..32, bit in 0u8..8) {
            let tree = MemoryTree::new(leaves(n));
            let m = m_seed % n;
            let d = leaves(n);
            let root = tree.root();
            let proof = tree.inclusion_proof(m, n).unwrap();
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let i = which % bad.len();
                bad[i].0[byte] ^= 1 << bit;
                prop_assert!(verify_inclusion(m, n, &d[m as usize], &bad, &root).is_err());
                prop_assert!(verify_inclusion(m, n, &d[m as usize], &proof[..proof.len() - 1], &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(d[0]);
            prop_assert!(verify_inclusion(m, n, &d[m as usize], &longer, &root).is_err());
            prop_assert!(verify_inclusion((m + 1) % n, n, &d[m as usize], &proof, &root).is_err() || d[m as usize] == d[((m + 1) % n) as usize]);
            prop_assert!(verify_inclusion(m, n, &d[m as usize], &proof, &leaf_hash(b"not the root")).is_err());

            let first = 1 + first_seed % (n - 1);
            let c = tree.consistency_proof(first, n).unwrap();
            let mut bad = c.clone();
            let i = which % bad.len();
            bad[i].0[byte] ^= 1 << bit;
            prop_assert!(verify_consistency(first, n, &tree.root_at(first), &root, &bad).is_err());
            prop_assert!(verify_consistency(first, n, &tree.root_at(first), &leaf_hash(b"x"), &c).is_err());
            prop_assert!(verify_consistency(first, n, &leaf_hash(b"x"), &root, &c).is_err());
            let mut longer = c.clone();
            longer.push(d[0]);
            prop_assert!(verify_consistency(first, n, &tree.root_at(first), &root, &longer).is_err());
        }
    }
}
