//! RFC 9162 Merkle trees: roots, the ranges proofs are made of, and proof verification.
//!
//! A proof is a list of MTHs of leaf ranges. Which ranges depends only on the sizes and the
//! index ([`inclusion_ranges`], [`consistency_ranges`]), so a store that keeps the hashes of
//! perfect subtrees can answer any proof by hashing each range's [`LeafRange::subtrees`]
//! together ([`range_hash`]); [`MemoryTree`] does exactly that in memory.

use serde::{Deserialize, Serialize};

use crate::hash::{Digest, empty_root, node_hash};

/// A perfect, aligned subtree: the leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subtree {
    pub level: u32,
    pub index: u64,
}

impl Subtree {
    /// The leaves it covers.
    pub fn leaves(&self) -> LeafRange {
        LeafRange {
            start: self.index << self.level,
            end: (self.index + 1) << self.level,
        }
    }
}

/// Leaves `[start, end)`, `end > start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafRange {
    pub start: u64,
    pub end: u64,
}

impl LeafRange {
    /// The perfect aligned subtrees covering the range, in leaf order: as RFC 9162's MTH
    /// splits it, for every range a tree or a proof is made of.
    ///
    /// Those ranges start at a multiple of the largest power of two not above their length,
    /// so taking the largest aligned subtree that fits, again and again, *is* MTH's split
    /// (largest power of two below the length on the left, the rest on the right). Any other
    /// range gets the same greedy decomposition; an empty one gets none.
    pub fn subtrees(&self) -> Vec<Subtree> {
        let mut out = Vec::new();
        let mut start = self.start;
        while start < self.end {
            let fits = 63 - (self.end - start).leading_zeros();
            // `trailing_zeros` of 0 is 64: the start of the log is aligned to anything.
            let level = fits.min(start.trailing_zeros());
            out.push(Subtree {
                level,
                index: start >> level,
            });
            start += 1 << level;
        }
        out
    }
}

/// The MTH of a range from the hashes of its [`LeafRange::subtrees`], in the same order:
/// the right fold `node_hash(p1, node_hash(p2, … pn))`. One part is itself; none is the
/// empty tree's hash.
pub fn range_hash(parts: &[Digest]) -> Digest {
    let Some((last, rest)) = parts.split_last() else {
        return empty_root();
    };
    rest.iter()
        .rev()
        .fold(*last, |right, left| node_hash(left, &right))
}

/// The largest power of two strictly below `n` (`n ≥ 2`): where MTH splits `n` leaves.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// RFC 9162 §2.1.1 MTH of a whole list of leaf hashes; of none, SHA-256 of the empty string.
pub fn merkle_root(leaves: &[Digest]) -> Digest {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let k = split(leaves.len() as u64) as usize;
            node_hash(&merkle_root(&leaves[..k]), &merkle_root(&leaves[k..]))
        }
    }
}

/// Why a proof cannot be made or does not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("leaf {index} is not in a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("no consistency proof from {first} to {second} leaves")]
    BadSizes { first: u64, second: u64 },
    #[error("the proof has {found} hashes where {expected} are needed")]
    WrongLength { expected: usize, found: usize },
    #[error("the proof does not lead to the root")]
    RootMismatch,
    /// A proof asked of a [`MemoryTree`] for a size it has not reached.
    #[error("a tree of {available} leaves cannot prove anything about {size}")]
    TreeTooSmall { size: u64, available: u64 },
}

/// The ranges whose MTHs form the audit path of leaf `index` in a tree of `size` leaves,
/// in RFC 9162 §2.1.3.1 PATH order: from the leaf's sibling up to the root's other child.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<LeafRange>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(
        index,
        LeafRange {
            start: 0,
            end: size,
        },
        &mut out,
    );
    Ok(out)
}

/// PATH(m, D[start:end]): recurse into the half holding leaf `m` (relative to `start`),
/// then add the other half. The recursion comes first, so the list reads bottom-up.
fn path(m: u64, range: LeafRange, out: &mut Vec<LeafRange>) {
    let LeafRange { start, end } = range;
    if end - start <= 1 {
        return;
    }
    let mid = start + split(end - start);
    if m < mid - start {
        path(m, LeafRange { start, end: mid }, out);
        out.push(LeafRange { start: mid, end });
    } else {
        path(m - (mid - start), LeafRange { start: mid, end }, out);
        out.push(LeafRange { start, end: mid });
    }
}

/// The ranges whose MTHs form the consistency proof from the tree of `first` leaves to the
/// tree of `second`, in RFC 9162 §2.1.4.1 PROOF/SUBPROOF order. Equal sizes need no hash.
pub fn consistency_ranges(first: u64, second: u64) -> Result<Vec<LeafRange>, ProofError> {
    if first == 0 || first > second {
        return Err(ProofError::BadSizes { first, second });
    }
    let mut out = Vec::new();
    if first < second {
        subproof(
            first,
            LeafRange {
                start: 0,
                end: second,
            },
            true,
            &mut out,
        );
    }
    Ok(out)
}

/// SUBPROOF(m, D[start:end], b): `known` is RFC's `b`, true while the subtree of the first
/// `m` leaves is the old root itself, which the verifier already holds.
fn subproof(m: u64, range: LeafRange, known: bool, out: &mut Vec<LeafRange>) {
    let LeafRange { start, end } = range;
    if m == end - start {
        if !known {
            out.push(range);
        }
        return;
    }
    let mid = start + split(end - start);
    if m <= mid - start {
        subproof(m, LeafRange { start, end: mid }, known, out);
        out.push(LeafRange { start: mid, end });
    } else {
        subproof(m - (mid - start), LeafRange { start: mid, end }, false, out);
        out.push(LeafRange { start, end: mid });
    }
}

/// Which side of the running hash the next proof hash goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// `node_hash(proof, running)`: the running hash is a right child.
    Left,
    /// `node_hash(running, proof)`.
    Right,
}

/// RFC 9162's walk from a node to the root, shared by both verifications: `f` is the node's
/// index, `s` the last index, both on the current level (RFC's `fn` and `sn`). Yields one
/// side per proof hash, so its length is the proof's length.
#[derive(Clone)]
struct Walk {
    f: u64,
    s: u64,
}

impl Iterator for Walk {
    type Item = Side;

    fn next(&mut self) -> Option<Side> {
        if self.s == 0 {
            return None;
        }
        let side = if self.f & 1 == 1 || self.f == self.s {
            // A left child with no right sibling is carried up unchanged: skip those levels.
            while self.f & 1 == 0 && self.f != 0 {
                self.f >>= 1;
                self.s >>= 1;
            }
            Side::Left
        } else {
            Side::Right
        };
        self.f >>= 1;
        self.s >>= 1;
        Some(side)
    }
}

/// RFC 9162 §2.1.3.2: does `path` lead from `leaf`, at `index`, to `root` of a tree of
/// `size` leaves?
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Digest,
    path: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let walk = Walk {
        f: index,
        s: size - 1,
    };
    // Checked first, so a proof that is too short or too long is reported as such, and the
    // walk below runs out exactly when RFC's `sn` reaches 0.
    let expected = walk.clone().count();
    if path.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            found: path.len(),
        });
    }
    let computed = path
        .iter()
        .zip(walk)
        .fold(*leaf, |r, (p, side)| match side {
            Side::Left => node_hash(p, &r),
            Side::Right => node_hash(&r, p),
        });
    if computed == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// RFC 9162 §2.1.4.2: is the tree of `second` leaves with `second_root` an append-only
/// extension of the tree of `first` leaves with `first_root`?
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Digest,
    second_root: &Digest,
    proof: &[Digest],
) -> Result<(), ProofError> {
    if first == 0 || first > second {
        return Err(ProofError::BadSizes { first, second });
    }
    if first == second {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                expected: 0,
                found: proof.len(),
            });
        }
        return if first_root == second_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let (walk, seed_given) = consistency_walk(first, second);
    let expected = walk.clone().count() + usize::from(seed_given);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            found: proof.len(),
        });
    }
    let (seed, rest) = if seed_given {
        (proof[0], &proof[1..])
    } else {
        (*first_root, proof)
    };
    let (mut fr, mut sr) = (seed, seed);
    for (c, side) in rest.iter().zip(walk) {
        match side {
            Side::Left => {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
            }
            Side::Right => sr = node_hash(&sr, c),
        }
    }
    if fr == *first_root && sr == *second_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The walk of a consistency proof (`0 < first < second`) and whether the proof opens with
/// the hash of the node it starts from.
fn consistency_walk(first: u64, second: u64) -> (Walk, bool) {
    // The walk starts at the old tree's last node that is a perfect subtree: its last leaf,
    // climbed while it is a right child.
    let mut walk = Walk {
        f: first - 1,
        s: second - 1,
    };
    while walk.f & 1 == 1 {
        walk.f >>= 1;
        walk.s >>= 1;
    }
    // That node's hash opens the proof, unless the old tree is perfect and so that node is
    // the old root, which the verifier already holds.
    (walk, !first.is_power_of_two())
}

/// A tree over leaf hashes held in memory: for tests, small logs and external verifiers.
///
/// Keeps every perfect subtree's hash (about twice the leaves), so a root or a proof costs a
/// few dozen hashes whatever the size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of [`Subtree`] `{ level: l, index: i }`; `levels[0]` are
    /// the leaves.
    levels: Vec<Vec<Digest>>,
}

impl MemoryTree {
    pub fn new(leaves: Vec<Digest>) -> Self {
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|l| l.len() >= 2) {
            let above = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// How many leaves it holds.
    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The root of all its leaves.
    pub fn root(&self) -> Digest {
        self.root_at(self.size())
    }

    /// The root of its first `n` leaves: what the tree looked like at size `n`.
    ///
    /// # Panics
    ///
    /// When `n` is more than [`MemoryTree::size`].
    pub fn root_at(&self, n: u64) -> Digest {
        self.range(LeafRange { start: 0, end: n })
    }

    /// The hash of a perfect subtree.
    ///
    /// # Panics
    ///
    /// When the subtree reaches past the last leaf.
    pub fn subtree(&self, s: Subtree) -> Digest {
        let hash = usize::try_from(s.index)
            .ok()
            .and_then(|i| self.levels.get(s.level as usize)?.get(i));
        match hash {
            Some(hash) => *hash,
            None => panic!(
                "subtree {s:?} reaches past the last of {} leaves",
                self.size()
            ),
        }
    }

    /// The MTH of a range of leaves (of an empty range, the empty tree's hash).
    ///
    /// # Panics
    ///
    /// When the range reaches past the last leaf.
    pub fn range(&self, r: LeafRange) -> Digest {
        let parts: Vec<Digest> = r.subtrees().into_iter().map(|s| self.subtree(s)).collect();
        range_hash(&parts)
    }

    /// The audit path of leaf `index` in the tree as it was at `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Digest>, ProofError> {
        let ranges = inclusion_ranges(index, size)?;
        self.reaches(size)?;
        Ok(ranges.into_iter().map(|r| self.range(r)).collect())
    }

    /// The consistency proof between the tree as it was at `first` and at `second` leaves.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Digest>, ProofError> {
        let ranges = consistency_ranges(first, second)?;
        self.reaches(second)?;
        Ok(ranges.into_iter().map(|r| self.range(r)).collect())
    }

    fn reaches(&self, size: u64) -> Result<(), ProofError> {
        if size <= self.size() {
            Ok(())
        } else {
            Err(ProofError::TreeTooSmall {
                size,
                available: self.size(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use proptest::prelude::*;

    /// Distinct leaves, as the log would hash its records.
    fn leaves(n: u64) -> Vec<Digest> {
        (0..n)
            .map(|i| leaf_hash(format!("record {i}").as_bytes()))
            .collect()
    }

    /// The reference: RFC 9162 §2.1.1 MTH, word for word.
    fn mth(d: &[Digest]) -> Digest {
        let n = d.len();
        if n == 0 {
            return empty_root();
        }
        if n == 1 {
            return d[0];
        }
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        node_hash(&mth(&d[..k]), &mth(&d[k..]))
    }

    /// The reference: RFC 9162 §2.1.3.1 PATH(m, D[n]).
    fn reference_path(m: usize, d: &[Digest]) -> Vec<Digest> {
        let n = d.len();
        if n <= 1 {
            return Vec::new();
        }
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        let mut p;
        if m < k {
            p = reference_path(m, &d[..k]);
            p.push(mth(&d[k..]));
        } else {
            p = reference_path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
        }
        p
    }

    /// The reference: RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
    fn reference_proof(m: usize, d: &[Digest]) -> Vec<Digest> {
        fn subproof(m: usize, d: &[Digest], b: bool) -> Vec<Digest> {
            let n = d.len();
            if m == n {
                return if b { Vec::new() } else { vec![mth(d)] };
            }
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            let mut p;
            if m <= k {
                p = subproof(m, &d[..k], b);
                p.push(mth(&d[k..]));
            } else {
                p = subproof(m - k, &d[k..], false);
                p.push(mth(&d[..k]));
            }
            p
        }
        if m == d.len() {
            Vec::new()
        } else {
            subproof(m, d, true)
        }
    }

    fn hex(h: &str) -> Digest {
        Digest::from_hex(h).unwrap()
    }

    /// The leaves of the RFC 6962 test vectors used by Certificate Transparency
    /// (transparency-dev/merkle, `testonly/constants.go`).
    fn ct_leaves() -> Vec<Digest> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| leaf_hash(&::hex::decode(h).unwrap()))
        .collect()
    }

    #[test]
    fn roots_match_the_certificate_transparency_vectors() {
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let tree = MemoryTree::new(ct_leaves());
        for (n, root) in roots.iter().enumerate() {
            assert_eq!(merkle_root(&ct_leaves()[..n]), hex(root), "{n} leaves");
            assert_eq!(tree.root_at(n as u64), hex(root), "{n} leaves");
        }
    }

    #[test]
    fn proofs_match_the_certificate_transparency_vectors() {
        let tree = MemoryTree::new(ct_leaves());
        let inclusion: [(u64, u64, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, expected) in inclusion {
            let expected: Vec<Digest> = expected.iter().map(|h| hex(h)).collect();
            assert_eq!(tree.inclusion_proof(index, size).unwrap(), expected);
            let leaf = ct_leaves()[index as usize];
            verify_inclusion(index, size, &leaf, &expected, &tree.root_at(size)).unwrap();
        }

        let consistency: [(u64, u64, &[&str]); 4] = [
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (first, second, expected) in consistency {
            let expected: Vec<Digest> = expected.iter().map(|h| hex(h)).collect();
            assert_eq!(tree.consistency_proof(first, second).unwrap(), expected);
            let (old, new) = (tree.root_at(first), tree.root_at(second));
            verify_consistency(first, second, &old, &new, &expected).unwrap();
        }
    }

    #[test]
    fn roots_of_0_to_20_leaves_are_rfc_9162_roots() {
        for n in 0..=20 {
            let d = leaves(n);
            assert_eq!(merkle_root(&d), mth(&d), "{n} leaves");
            assert_eq!(MemoryTree::new(d.clone()).root(), mth(&d), "{n} leaves");
        }
    }

    #[test]
    fn a_memory_tree_remembers_every_earlier_root() {
        let d = leaves(40);
        let tree = MemoryTree::new(d.clone());
        for n in 0..=40 {
            assert_eq!(tree.root_at(n), mth(&d[..n as usize]), "{n} leaves");
        }
    }

    #[test]
    fn every_inclusion_proof_up_to_64_leaves_is_the_rfc_path_and_holds() {
        let d = leaves(64);
        let tree = MemoryTree::new(d.clone());
        for size in 1..=64u64 {
            let root = tree.root_at(size);
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).unwrap();
                let expected = reference_path(index as usize, &d[..size as usize]);
                assert_eq!(proof, expected, "leaf {index} of {size}");
                verify_inclusion(index, size, &d[index as usize], &proof, &root).unwrap();
            }
        }
    }

    #[test]
    fn every_consistency_proof_up_to_64_leaves_is_the_rfc_proof_and_holds() {
        let d = leaves(64);
        let tree = MemoryTree::new(d.clone());
        for second in 1..=64u64 {
            for first in 1..=second {
                let proof = tree.consistency_proof(first, second).unwrap();
                let expected = reference_proof(first as usize, &d[..second as usize]);
                assert_eq!(proof, expected, "{first} → {second}");
                let (old, new) = (tree.root_at(first), tree.root_at(second));
                verify_consistency(first, second, &old, &new, &proof).unwrap();
            }
        }
    }

    #[test]
    fn every_range_in_a_proof_is_rebuilt_from_its_subtrees() {
        let d = leaves(100);
        let tree = MemoryTree::new(d.clone());
        let mut ranges = Vec::new();
        for second in 1..=100u64 {
            for i in 0..second {
                ranges.extend(inclusion_ranges(i, second).unwrap());
            }
            for first in 1..=second {
                ranges.extend(consistency_ranges(first, second).unwrap());
            }
            ranges.push(LeafRange {
                start: 0,
                end: second,
            });
        }
        for r in ranges {
            let subtrees = r.subtrees();
            // Perfect, aligned, contiguous, in leaf order.
            let mut next = r.start;
            for s in &subtrees {
                assert_eq!(s.leaves().start, next, "{r:?}: {subtrees:?}");
                next = s.leaves().end;
            }
            assert_eq!(next, r.end, "{r:?}: {subtrees:?}");
            let parts: Vec<Digest> = subtrees
                .iter()
                .map(|s| mth(&d[s.leaves().start as usize..s.leaves().end as usize]))
                .collect();
            let reference = mth(&d[r.start as usize..r.end as usize]);
            assert_eq!(range_hash(&parts), reference, "{r:?}");
            assert_eq!(tree.range(r), reference, "{r:?}");
        }
    }

    #[test]
    fn subtrees_split_as_mth_does() {
        let r = |start, end| LeafRange { start, end };
        let s = |level, index| Subtree { level, index };
        assert_eq!(r(0, 1).subtrees(), [s(0, 0)]);
        assert_eq!(r(0, 8).subtrees(), [s(3, 0)]);
        assert_eq!(r(0, 7).subtrees(), [s(2, 0), s(1, 2), s(0, 6)]);
        assert_eq!(r(8, 14).subtrees(), [s(2, 2), s(1, 6)]);
        assert_eq!(r(32, 45).subtrees(), [s(3, 4), s(2, 10), s(0, 44)]);
    }

    #[test]
    fn any_range_gets_a_greedy_aligned_cover_without_panicking() {
        let r = |start, end| LeafRange { start, end };
        let s = |level, index| Subtree { level, index };
        assert_eq!(r(3, 9).subtrees(), [s(0, 3), s(2, 1), s(0, 8)]);
        assert_eq!(r(5, 5).subtrees(), []);
        assert_eq!(r(9, 5).subtrees(), []);
        assert_eq!(r(0, u64::MAX).subtrees().len(), 64);
        assert_eq!(r(u64::MAX - 1, u64::MAX).subtrees(), [s(0, u64::MAX - 1)]);
        assert_eq!(range_hash(&[]), empty_root());
    }

    #[test]
    fn proofs_of_leaves_or_sizes_outside_the_tree_are_refused() {
        assert_eq!(
            inclusion_ranges(5, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            inclusion_ranges(0, 0),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        for (first, second) in [(0, 0), (0, 5), (6, 5)] {
            assert_eq!(
                consistency_ranges(first, second),
                Err(ProofError::BadSizes { first, second })
            );
        }
        assert_eq!(consistency_ranges(7, 7), Ok(Vec::new()));

        let tree = MemoryTree::new(leaves(10));
        assert_eq!(
            tree.inclusion_proof(3, 11),
            Err(ProofError::TreeTooSmall {
                size: 11,
                available: 10
            })
        );
        assert_eq!(
            tree.consistency_proof(3, 11),
            Err(ProofError::TreeTooSmall {
                size: 11,
                available: 10
            })
        );
        assert_eq!(
            tree.inclusion_proof(10, 10),
            Err(ProofError::IndexOutOfRange {
                index: 10,
                size: 10
            })
        );
    }

    #[test]
    fn a_proof_of_the_wrong_length_says_how_long_it_should_be() {
        let d = leaves(5);
        let tree = MemoryTree::new(d.clone());
        let proof = tree.inclusion_proof(1, 5).unwrap();
        assert_eq!(
            verify_inclusion(1, 5, &d[1], &proof[..2], &tree.root()),
            Err(ProofError::WrongLength {
                expected: 3,
                found: 2
            })
        );
        let proof = tree.consistency_proof(2, 5).unwrap();
        assert_eq!(
            verify_consistency(2, 5, &tree.root_at(2), &tree.root(), &[]),
            Err(ProofError::WrongLength {
                expected: proof.len(),
                found: 0
            })
        );
    }

    #[test]
    fn a_one_leaf_tree_proves_its_leaf_with_no_hashes() {
        let leaf = leaf_hash(b"only record");
        verify_inclusion(0, 1, &leaf, &[], &leaf).unwrap();
        assert_eq!(
            verify_inclusion(0, 1, &leaf, &[], &leaf_hash(b"other")),
            Err(ProofError::RootMismatch)
        );
    }

    #[test]
    fn equal_sizes_are_consistent_only_with_equal_roots_and_no_hashes() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        verify_consistency(4, 4, &a, &a, &[]).unwrap();
        assert_eq!(
            verify_consistency(4, 4, &a, &b, &[]),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(4, 4, &a, &a, &[b]),
            Err(ProofError::WrongLength {
                expected: 0,
                found: 1
            })
        );
        assert_eq!(
            verify_consistency(5, 4, &a, &a, &[]),
            Err(ProofError::BadSizes {
                first: 5,
                second: 4
            })
        );
    }

    /// The steps a verifier takes for an inclusion proof. Another index or size with the
    /// very same steps computes the same root from the same hashes, so no proof can tell
    /// them apart: the signed checkpoint is what binds a root to its size.
    fn inclusion_steps(index: u64, size: u64) -> Option<Vec<Side>> {
        (index < size).then(|| {
            Walk {
                f: index,
                s: size - 1,
            }
            .collect()
        })
    }

    /// The same for a consistency proof.
    fn consistency_steps(first: u64, second: u64) -> Option<(bool, Vec<Side>)> {
        (0 < first && first < second).then(|| {
            let (walk, seed_given) = consistency_walk(first, second);
            (seed_given, walk.collect())
        })
    }

    /// Every way to tamper with a good inclusion proof that tests below try.
    fn tampered_inclusions(
        index: u64,
        size: u64,
        proof: &[Digest],
        which: usize,
        bit: usize,
    ) -> Vec<(String, u64, u64, Vec<Digest>)> {
        let mut out = vec![
            ("index + 1".into(), index + 1, size, proof.to_vec()),
            ("index ^ 2".into(), index ^ 2, size, proof.to_vec()),
            ("size * 2".into(), index, size * 2, proof.to_vec()),
            ("size + 1".into(), index, size + 1, proof.to_vec()),
            ("size / 2".into(), index, size / 2, proof.to_vec()),
            ("size - 1".into(), index, size - 1, proof.to_vec()),
        ];
        if index > 0 {
            out.push(("index - 1".into(), index - 1, size, proof.to_vec()));
        }
        let mut longer = proof.to_vec();
        longer.push(leaf_hash(b"extra"));
        out.push(("a hash added at the end".into(), index, size, longer));
        let mut longer = proof.to_vec();
        longer.insert(0, leaf_hash(b"extra"));
        out.push(("a hash added at the front".into(), index, size, longer));
        if !proof.is_empty() {
            let i = which % proof.len();
            let mut flipped = proof.to_vec();
            flipped[i].0[bit / 8] ^= 1 << (bit % 8);
            out.push((
                format!("bit {bit} of hash {i} flipped"),
                index,
                size,
                flipped,
            ));
            let mut shorter = proof.to_vec();
            shorter.remove(i);
            out.push((format!("hash {i} dropped"), index, size, shorter));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_tampered_inclusion_proof_never_holds(
            size in 1u64..300,
            index_seed in any::<u64>(),
            which in any::<usize>(),
            bit in 0usize..256,
        ) {
            let d = leaves(size);
            let tree = MemoryTree::new(d.clone());
            let index = index_seed % size;
            let (leaf, root) = (d[index as usize], tree.root());
            let proof = tree.inclusion_proof(index, size).unwrap();
            prop_assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));

            for (what, i, n, bad) in tampered_inclusions(index, size, &proof, which, bit) {
                let moved = (i, n) != (index, size);
                if moved && inclusion_steps(i, n) == inclusion_steps(index, size) {
                    // The same steps over the same hashes: only the checkpoint can tell.
                    continue;
                }
                prop_assert!(verify_inclusion(i, n, &leaf, &bad, &root).is_err(), "{}", what);
            }
            let other_leaf = leaf_hash(b"another record");
            prop_assert!(verify_inclusion(index, size, &other_leaf, &proof, &root).is_err());
            prop_assert_eq!(
                verify_inclusion(index, size, &leaf, &proof, &leaf_hash(b"not the root")),
                Err(ProofError::RootMismatch)
            );
        }

        #[test]
        fn a_tampered_consistency_proof_never_holds(
            second in 2u64..300,
            first_seed in any::<u64>(),
            which in any::<usize>(),
            bit in 0usize..256,
        ) {
            let tree = MemoryTree::new(leaves(second));
            let first = 1 + first_seed % (second - 1);
            let (old, new) = (tree.root_at(first), tree.root());
            let proof = tree.consistency_proof(first, second).unwrap();
            prop_assert_eq!(verify_consistency(first, second, &old, &new, &proof), Ok(()));

            let i = which % proof.len();
            let mut flipped = proof.clone();
            flipped[i].0[bit / 8] ^= 1 << (bit % 8);
            let mut dropped = proof.clone();
            dropped.remove(i);
            let mut longer = proof.clone();
            longer.push(leaf_hash(b"extra"));
            let mut front = proof.clone();
            front.insert(0, old);
            let other = leaf_hash(b"other root");
            let attempts = [
                ("bit flipped", first, second, old, new, flipped),
                ("hash dropped", first, second, old, new, dropped),
                ("hash added", first, second, old, new, longer),
                ("old root added", first, second, old, new, front),
                ("first + 1", first + 1, second, old, new, proof.clone()),
                ("first - 1", first - 1, second, old, new, proof.clone()),
                ("second + 1", first, second + 1, old, new, proof.clone()),
                ("second - 1", first, second - 1, old, new, proof.clone()),
                ("second * 2", first, second * 2, old, new, proof.clone()),
                ("wrong old root", first, second, other, new, proof.clone()),
                ("wrong new root", first, second, old, other, proof.clone()),
                ("roots swapped", first, second, new, old, proof.clone()),
                ("no proof", first, second, old, new, Vec::new()),
            ];
            for (what, m, n, old, new, bad) in attempts {
                let moved = (m, n) != (first, second);
                if moved && consistency_steps(m, n) == consistency_steps(first, second) {
                    // The same steps over the same hashes: only the checkpoint can tell.
                    continue;
                }
                prop_assert!(verify_consistency(m, n, &old, &new, &bad).is_err(), "{}", what);
            }
        }
    }
}
