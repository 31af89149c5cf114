//! SHA-256 digests and the three ways the log hashes: leaves, nodes and the chain.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

/// Not a digest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("a digest is 64 hex digits")]
    NotHex,
    #[error("a digest is 32 bytes, not {0}")]
    WrongLength(usize),
}

impl Digest {
    /// The chain's start.
    pub const ZERO: Digest = Digest([0; 32]);

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Result<Self, DigestError> {
        let bytes = hex::decode(text).map_err(|_| DigestError::NotHex)?;
        Self::from_slice(&bytes)
    }

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

impl Default for Digest {
    fn default() -> Self {
        Self::ZERO
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
    for p in parts {
        hasher.update(p);
    }
    Digest(hasher.finalize().into())
}

/// RFC 9162 §2.1.1: SHA-256(0x00 ‖ record).
pub fn leaf_hash(record: &[u8]) -> Digest {
    sha256(&[&[0x00], record])
}

/// RFC 9162: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    sha256(&[&[0x01], &left.0, &right.0])
}

/// The hash chain: SHA-256(previous ‖ leaf); the first record's previous is [`Digest::ZERO`].
pub fn chain_hash(previous: &Digest, leaf: &Digest) -> Digest {
    sha256(&[&previous.0, &leaf.0])
}

/// MTH of no leaves: SHA-256 of the empty string.
pub(crate) fn merkle_root_of_empty() -> Digest {
    sha256(&[])
}
