//! SHA-256 digests and the three ways the log hashes: leaves, nodes and the chain.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest. Written as 64 lowercase hex digits (`Display`, `Debug`, serde).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

/// Text or bytes that are not a digest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("a digest is written in hex digits")]
    NotHex,
    #[error("a digest is 32 bytes, not {0}")]
    WrongLength(usize),
}

impl Digest {
    /// The chain's start: the `previous` of the first record.
    pub const ZERO: Digest = Digest([0; 32]);

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads 64 hex digits (either case: only the bytes matter, they are written lowercase).
    pub fn from_hex(text: &str) -> Result<Self, DigestError> {
        let bytes = hex::decode(text).map_err(|_| DigestError::NotHex)?;
        Self::from_slice(&bytes)
    }

    /// Reads exactly 32 bytes, as a database column or a wire format holds them.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DigestError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| DigestError::WrongLength(bytes.len()))?;
        Ok(Self(array))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// [`Digest::ZERO`], the chain's start.
impl Default for Digest {
    fn default() -> Self {
        Self::ZERO
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

// Hex in `Debug` too: a digest in a failed assertion is compared with hex from elsewhere
// (a database, a proof), never read as a list of 32 numbers.
impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

fn sha256(parts: &[&[u8]]) -> Digest {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    Digest(hasher.finalize().into())
}

/// RFC 9162 §2.1.1: SHA-256(0x00 ‖ record).
///
/// The prefix keeps a leaf from ever hashing like a node, so no record can pose as a
/// subtree (the second-preimage attack on unprefixed Merkle trees).
pub fn leaf_hash(record: &[u8]) -> Digest {
    sha256(&[&[0x00], record])
}

/// RFC 9162 §2.1.1: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    sha256(&[&[0x01], &left.0, &right.0])
}

/// The hash chain: SHA-256(previous ‖ leaf), where `leaf` is the record's [`leaf_hash`] and
/// the first record's `previous` is [`Digest::ZERO`].
///
/// The chain head commits to every record and its place, like the Merkle root; it is the
/// cheap check a reader can run row by row without building a tree.
pub fn chain_hash(previous: &Digest, leaf: &Digest) -> Digest {
    sha256(&[&previous.0, &leaf.0])
}

/// RFC 9162 MTH of no leaves: SHA-256 of the empty string.
pub(crate) fn empty_root() -> Digest {
    sha256(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_reads_back_from_hex_json_and_bytes() {
        let d = leaf_hash(b"x");
        assert_eq!(Digest::from_hex(&d.to_hex()), Ok(d));
        assert_eq!(d.to_hex().parse::<Digest>(), Ok(d));
        assert_eq!(Digest::from_slice(d.as_bytes()), Ok(d));

        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{}\"", d.to_hex()));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
    }

    #[test]
    fn a_digest_is_written_in_lowercase_hex_everywhere() {
        let d = Digest([0xab; 32]);
        let hex = "ab".repeat(32);
        assert_eq!(d.to_hex(), hex);
        assert_eq!(d.to_string(), hex);
        assert_eq!(format!("{d:?}"), hex);
        assert_eq!(Digest::from_hex(&hex.to_uppercase()), Ok(d));
    }

    #[test]
    fn what_is_not_a_digest_is_refused() {
        assert_eq!(Digest::from_hex("zz"), Err(DigestError::NotHex));
        assert_eq!(Digest::from_hex("abc"), Err(DigestError::NotHex));
        assert_eq!(Digest::from_hex("abcd"), Err(DigestError::WrongLength(2)));
        assert_eq!(
            Digest::from_slice(&[0; 31]),
            Err(DigestError::WrongLength(31))
        );
        assert_eq!(
            Digest::from_slice(&[0; 33]),
            Err(DigestError::WrongLength(33))
        );
        assert!(serde_json::from_str::<Digest>("\"00\"").is_err());
        assert!(serde_json::from_str::<Digest>("42").is_err());
    }

    #[test]
    fn leaves_nodes_and_the_chain_hash_as_rfc_9162_and_the_log_define_them() {
        // SHA-256("") and SHA-256(0x00): well-known values.
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut node = vec![0x01];
        node.extend_from_slice(&a.0);
        node.extend_from_slice(&b.0);
        assert_eq!(node_hash(&a, &b), Digest(Sha256::digest(&node).into()));
        let mut chain = a.0.to_vec();
        chain.extend_from_slice(&b.0);
        assert_eq!(chain_hash(&a, &b), Digest(Sha256::digest(&chain).into()));
    }

    #[test]
    fn a_leaf_never_hashes_like_a_node_of_the_same_bytes() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut both = a.0.to_vec();
        both.extend_from_slice(&b.0);
        assert_ne!(leaf_hash(&both), node_hash(&a, &b));
    }

    #[test]
    fn the_chain_depends_on_the_order_of_records() {
        let (a, b) = (leaf_hash(b"record a"), leaf_hash(b"record b"));
        let a_then_b = chain_hash(&chain_hash(&Digest::ZERO, &a), &b);
        let b_then_a = chain_hash(&chain_hash(&Digest::ZERO, &b), &a);
        assert_ne!(a_then_b, b_then_a);
    }

    #[test]
    fn the_chain_depends_on_where_it_starts() {
        let a = leaf_hash(b"record a");
        assert_ne!(chain_hash(&Digest::ZERO, &a), chain_hash(&a, &a));
        assert_ne!(chain_hash(&Digest::ZERO, &a), a);
    }
}
