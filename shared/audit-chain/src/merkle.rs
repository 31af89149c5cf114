//! RFC 9162 Merkle trees: roots, the ranges proofs are made of, and proof verification.

use serde::{Deserialize, Serialize};

use crate::hash::{Digest, merkle_root_of_empty, node_hash};

/// A perfect, aligned subtree: the leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subtree {
    pub level: u32,
    pub index: u64,
}

/// Leaves `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafRange {
    pub start: u64,
    pub end: u64,
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

impl LeafRange {
    /// The perfect aligned subtrees covering the range in leaf order, as MTH splits it.
    pub fn subtrees(&self) -> Vec<Subtree> {
        let mut out = Vec::new();
        let mut start = self.start;
        while start < self.end {
            let remaining = self.end - start;
            // The largest power of two that fits the rest and to which `start` is aligned.
            let mut size = 1u64 << (63 - remaining.leading_zeros());
            while !start.is_multiple_of(size) {
                size >>= 1;
            }
            out.push(Subtree {
                level: size.trailing_zeros(),
                index: start / size,
            });
            start += size;
        }
        out
    }
}

/// MTH of a range from its subtrees' hashes (in `subtrees()` order): a right fold.
pub fn range_hash(parts: &[Digest]) -> Digest {
    let mut iter = parts.iter().rev();
    let Some(last) = iter.next() else {
        return merkle_root_of_empty();
    };
    iter.fold(*last, |acc, left| node_hash(left, &acc))
}

/// RFC 9162 MTH of a whole list.
pub fn merkle_root(leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => merkle_root_of_empty(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&merkle_root(&leaves[..k]), &merkle_root(&leaves[k..]))
        }
    }
}

/// Why a proof could not be made or does not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("leaf {index} is not in a tree of {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("no consistency proof from {first} to {second} leaves")]
    BadSizes { first: u64, second: u64 },
    #[error("the proof has {found} hashes, {expected} were needed")]
    WrongLength { expected: usize, found: usize },
    #[error("the proof does not lead to the root")]
    RootMismatch,
}

/// The ranges of the audit path of leaf `index` in a tree of `size` (RFC 9162 PATH order).
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<LeafRange>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(index, 0, size, &mut out);
    Ok(out)
}

fn path(m: u64, start: u64, end: u64, out: &mut Vec<LeafRange>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, start, start + k, out);
        out.push(LeafRange {
            start: start + k,
            end,
        });
    } else {
        path(m - k, start + k, end, out);
        out.push(LeafRange {
            start,
            end: start + k,
        });
    }
}

/// The ranges of the consistency proof from `first` to `second` leaves (RFC 9162 order).
pub fn consistency_ranges(first: u64, second: u64) -> Result<Vec<LeafRange>, ProofError> {
    if first == 0 || first > second {
        return Err(ProofError::BadSizes { first, second });
    }
    let mut out = Vec::new();
    if first < second {
        subproof(first, 0, second, true, &mut out);
    }
    Ok(out)
}

fn subproof(m: u64, start: u64, end: u64, complete: bool, out: &mut Vec<LeafRange>) {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(LeafRange { start, end });
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, start, start + k, complete, out);
        out.push(LeafRange {
            start: start + k,
            end,
        });
    } else {
        subproof(m - k, start + k, end, false, out);
        out.push(LeafRange {
            start,
            end: start + k,
        });
    }
}

/// RFC 9162 §2.1.3.2.
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
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf;
    for p in path {
        if s_n == 0 {
            return Err(ProofError::WrongLength {
                expected: 0,
                found: path.len(),
            });
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength {
            expected: path.len() + 1,
            found: path.len(),
        });
    }
    if r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// RFC 9162 §2.1.4.2.
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
        return if proof.is_empty() && first_root == second_root {
            Ok(())
        } else if !proof.is_empty() {
            Err(ProofError::WrongLength {
                expected: 0,
                found: proof.len(),
            })
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength {
            expected: 1,
            found: 0,
        });
    }
    let mut path: Vec<Digest> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let mut f_n = first - 1;
    let mut s_n = second - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if s_n == 0 {
            return Err(ProofError::WrongLength {
                expected: 0,
                found: proof.len(),
            });
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength {
            expected: proof.len() + 1,
            found: proof.len(),
        });
    }
    if fr == *first_root && sr == *second_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}
