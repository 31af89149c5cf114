//! Signed checkpoints: what the log looked like at a size, signed with Ed25519 over the
//! canonical JSON of the body.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, Verifier};
use serde::{Deserialize, Serialize};

use crate::canonical::canonical_json;
use crate::hash::Digest;

/// What a checkpoint says about the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBody {
    /// Names the log (`tsunagu-audit/<namespace>`).
    pub log_id: String,
    /// How many records it covers.
    pub tree_size: u64,
    /// RFC 9162 root of those records.
    pub root: Digest,
    /// The chain hash after the last of them.
    pub chain_head: Digest,
    /// When it was signed (microseconds: the canonical bytes survive a round trip).
    #[serde(with = "micros")]
    pub signed_at: DateTime<Utc>,
    /// The key that signed it.
    pub key_id: String,
}

/// A checkpoint with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub body: CheckpointBody,
    /// Ed25519 signature, base64url without padding.
    pub signature: String,
}

/// A checkpoint that does not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("the signature does not hold")]
    BadSignature,
}

mod micros {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

fn signed_bytes(body: &CheckpointBody) -> Result<Vec<u8>, CheckpointError> {
    let value =
        serde_json::to_value(body).map_err(|e| CheckpointError::Malformed(e.to_string()))?;
    canonical_json(&value).map_err(|e| CheckpointError::Malformed(e.to_string()))
}

/// Signs `body`. Its time is cut to microseconds first, as it will be read back.
pub fn sign_checkpoint(
    mut body: CheckpointBody,
    key: &ed25519_dalek::SigningKey,
) -> SignedCheckpoint {
    body.signed_at = DateTime::from_timestamp_micros(body.signed_at.timestamp_micros())
        .unwrap_or(body.signed_at);
    let bytes = signed_bytes(&body).expect("a checkpoint body is always canonical");
    SignedCheckpoint {
        signature: URL_SAFE_NO_PAD.encode(key.sign(&bytes).to_bytes()),
        body,
    }
}

/// Checks the signature with `key`.
pub fn verify_checkpoint(
    checkpoint: &SignedCheckpoint,
    key: &ed25519_dalek::VerifyingKey,
) -> Result<(), CheckpointError> {
    let bytes = signed_bytes(&checkpoint.body)?;
    let raw = URL_SAFE_NO_PAD
        .decode(&checkpoint.signature)
        .map_err(|_| CheckpointError::Malformed("the signature is not base64url".into()))?;
    let signature = ed25519_dalek::Signature::from_slice(&raw)
        .map_err(|_| CheckpointError::Malformed("the signature is not 64 bytes".into()))?;
    key.verify(&bytes, &signature)
        .map_err(|_| CheckpointError::BadSignature)
}

/// The id of a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(key: &ed25519_dalek::VerifyingKey) -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(key.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn key(seed: u8) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
    }

    fn body() -> CheckpointBody {
        CheckpointBody {
            log_id: "tsunagu-audit/test".into(),
            tree_size: 42,
            root: leaf_hash(b"root"),
            chain_head: leaf_hash(b"head"),
            signed_at: Utc::now(),
            key_id: key_id(&key(1).verifying_key()),
        }
    }

    #[test]
    fn a_signed_checkpoint_holds_and_survives_a_round_trip() {
        let signed = sign_checkpoint(body(), &key(1));
        verify_checkpoint(&signed, &key(1).verifying_key()).unwrap();
        let back: SignedCheckpoint =
            serde_json::from_str(&serde_json::to_string(&signed).unwrap()).unwrap();
        assert_eq!(back, signed);
        verify_checkpoint(&back, &key(1).verifying_key()).unwrap();
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let signed = sign_checkpoint(body(), &key(1));
        let mut bigger = signed.clone();
        bigger.body.tree_size += 1;
        let mut other_root = signed.clone();
        other_root.body.root = leaf_hash(b"other");
        for changed in [bigger, other_root] {
            assert_eq!(
                verify_checkpoint(&changed, &key(1).verifying_key()),
                Err(CheckpointError::BadSignature)
            );
        }
        assert_eq!(
            verify_checkpoint(&signed, &key(2).verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        let mut garbled = signed;
        garbled.signature.replace_range(0..2, "!!");
        assert!(matches!(
            verify_checkpoint(&garbled, &key(1).verifying_key()),
            Err(CheckpointError::Malformed(_))
        ));
    }
}
