//! Signed checkpoints: what the log looked like at a size, signed with Ed25519 over the
//! canonical JSON of the body.
//!
//! The signed bytes are re-derived from the body, never carried beside it: a verifier
//! parses the checkpoint, canonicalises the body and checks the signature over that. So
//! every field must write back exactly as it was read, which is why `signed_at` has one
//! fixed form.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound as _, Utc};
use ed25519_dalek::Signer as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::canonical::canonical_json;
use crate::hash::Digest;

/// What a checkpoint says about the log. Signed as
/// `canonical_json(serde_json::to_value(body))` ([`CheckpointBody::signed_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBody {
    /// Names the log.
    pub log_id: String,
    /// How many records it covers.
    pub tree_size: u64,
    /// The RFC 9162 root of those records.
    pub root: Digest,
    /// The chain hash after the last of them.
    pub chain_head: Digest,
    /// When it was signed, written `2026-11-22T10:40:42.123456Z`: microseconds always, so
    /// the canonical bytes survive a round trip through any JSON.
    #[serde(with = "micros")]
    pub signed_at: DateTime<Utc>,
    /// The signing key's [`key_id`].
    pub key_id: String,
}

/// A checkpoint with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub body: CheckpointBody,
    /// The Ed25519 signature of the body's signed bytes, base64url without padding.
    pub signature: String,
}

/// A checkpoint that does not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    /// It cannot be checked at all: a signature that is not base64url or not 64 bytes, or a
    /// body with no canonical form.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    /// It can be checked and the signature does not hold for this body and this key.
    #[error("the checkpoint's signature does not hold")]
    BadSignature,
}

/// `signed_at` in one fixed form. chrono's own serde writes as few fractional digits as the
/// value needs (none, 3, 6 or 9), which is a fine RFC 3339 but not a fixed one.
mod micros {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&at.format(FORMAT))
    }

    /// Reads any RFC 3339 time: what it writes back is its own form, which is what was
    /// signed.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

impl CheckpointBody {
    /// The bytes the signature covers: the RFC 8785 canonical JSON of the body.
    ///
    /// Fails only for a `tree_size` beyond 2^53, which JCS numbers cannot hold.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        let value =
            serde_json::to_value(self).map_err(|e| CheckpointError::Malformed(e.to_string()))?;
        canonical_json(&value).map_err(|e| CheckpointError::Malformed(e.to_string()))
    }
}

/// Signs `body` with `key`. `signed_at` is cut to microseconds first, so the checkpoint
/// equals itself read back.
///
/// # Panics
///
/// When `tree_size` is beyond 2^53 (about 9 × 10^15 records), which no canonical JSON holds.
pub fn sign_checkpoint(
    mut body: CheckpointBody,
    key: &ed25519_dalek::SigningKey,
) -> SignedCheckpoint {
    body.signed_at = body.signed_at.trunc_subsecs(6);
    let bytes = body
        .signed_bytes()
        .expect("a checkpoint of at most 2^53 records has canonical bytes");
    SignedCheckpoint {
        signature: URL_SAFE_NO_PAD.encode(key.sign(&bytes).to_bytes()),
        body,
    }
}

/// Checks the checkpoint's signature with `key`.
///
/// Strict Ed25519 verification: weak keys and non-canonical signatures are refused, so a
/// checkpoint has one valid signature per body and key.
pub fn verify_checkpoint(
    checkpoint: &SignedCheckpoint,
    key: &ed25519_dalek::VerifyingKey,
) -> Result<(), CheckpointError> {
    let raw = URL_SAFE_NO_PAD
        .decode(&checkpoint.signature)
        .map_err(|_| CheckpointError::Malformed("the signature is not base64url".into()))?;
    let signature = ed25519_dalek::Signature::from_slice(&raw).map_err(|_| {
        CheckpointError::Malformed(format!("the signature is {} bytes, not 64", raw.len()))
    })?;
    let bytes = checkpoint.body.signed_bytes()?;
    key.verify_strict(&bytes, &signature)
        .map_err(|_| CheckpointError::BadSignature)
}

/// The `key_id` of a public key: the first 16 hex digits of SHA-256 of its 32 bytes.
pub fn key_id(key: &ed25519_dalek::VerifyingKey) -> String {
    hex::encode(&sha2::Sha256::digest(key.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use chrono::TimeZone as _;

    fn key(seed: u8) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
    }

    fn at(nanos: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 40, 42).unwrap()
            + chrono::Duration::nanoseconds(nanos.into())
    }

    fn body(signed_at: DateTime<Utc>) -> CheckpointBody {
        CheckpointBody {
            log_id: "tsunagu-audit/test".into(),
            tree_size: 42,
            root: leaf_hash(b"root"),
            chain_head: leaf_hash(b"head"),
            signed_at,
            key_id: key_id(&key(1).verifying_key()),
        }
    }

    fn read_back<T: Serialize + for<'de> Deserialize<'de>>(value: &T) -> T {
        serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_holds_with_its_key() {
        let signed = sign_checkpoint(body(Utc::now()), &key(1));
        assert_eq!(verify_checkpoint(&signed, &key(1).verifying_key()), Ok(()));
    }

    #[test]
    fn a_signed_checkpoint_still_holds_after_a_round_trip_through_json() {
        let signed = sign_checkpoint(body(at(123_456_789)), &key(1));
        let back = read_back(&signed);
        assert_eq!(back, signed);
        assert_eq!(verify_checkpoint(&back, &key(1).verifying_key()), Ok(()));
    }

    #[test]
    fn signed_at_is_written_with_microseconds_whatever_its_precision() {
        for (nanos, written) in [
            (0, "2026-11-22T10:40:42.000000Z"),
            (120_000_000, "2026-11-22T10:40:42.120000Z"),
            (123_456_000, "2026-11-22T10:40:42.123456Z"),
            (123_456_789, "2026-11-22T10:40:42.123456Z"),
        ] {
            let json = serde_json::to_value(body(at(nanos))).unwrap();
            assert_eq!(json["signed_at"], written, "{nanos} ns");
        }
    }

    #[test]
    fn canonical_bytes_are_the_same_after_a_round_trip_through_json() {
        for nanos in [0, 1_000_000, 120_000_000, 123_456_000, 123_456_789] {
            let b = body(at(nanos));
            let back = read_back(&b);
            assert_eq!(back.signed_bytes(), b.signed_bytes(), "{nanos} ns");
            assert_eq!(
                read_back(&back).signed_bytes(),
                b.signed_bytes(),
                "{nanos} ns"
            );
        }
    }

    #[test]
    fn a_checkpoint_written_by_another_tool_reads_in_its_own_form() {
        // Whole seconds or an offset are fine RFC 3339; the signature is over the fixed form.
        let mut json = serde_json::to_value(body(at(0))).unwrap();
        json["signed_at"] = "2026-11-22T19:40:42+09:00".into();
        let read: CheckpointBody = serde_json::from_value(json).unwrap();
        assert_eq!(read, body(at(0)));
        json = serde_json::to_value(body(at(0))).unwrap();
        json["signed_at"] = "yesterday".into();
        assert!(serde_json::from_value::<CheckpointBody>(json).is_err());
    }

    #[test]
    fn the_signature_covers_the_canonical_json_of_the_body() {
        let signed = sign_checkpoint(body(at(0)), &key(1));
        let bytes = String::from_utf8(signed.body.signed_bytes().unwrap()).unwrap();
        assert_eq!(
            bytes,
            format!(
                concat!(
                    r#"{{"chain_head":"{}","key_id":"{}","log_id":"tsunagu-audit/test","#,
                    r#""root":"{}","signed_at":"2026-11-22T10:40:42.000000Z","tree_size":42}}"#
                ),
                leaf_hash(b"head"),
                key_id(&key(1).verifying_key()),
                leaf_hash(b"root"),
            )
        );
        let raw = URL_SAFE_NO_PAD.decode(&signed.signature).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&raw).unwrap();
        key(1)
            .verifying_key()
            .verify_strict(bytes.as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn signing_cuts_signed_at_to_microseconds() {
        let signed = sign_checkpoint(body(at(123_456_789)), &key(1));
        assert_eq!(signed.body.signed_at, at(123_456_000));
    }

    #[test]
    fn a_checkpoint_with_a_changed_field_does_not_hold() {
        let signed = sign_checkpoint(body(at(0)), &key(1));
        type Change = fn(&mut CheckpointBody);
        let changes: [(&str, Change); 6] = [
            ("a bigger tree", |b| b.tree_size += 1),
            ("another root", |b| b.root = leaf_hash(b"other")),
            ("another chain head", |b| b.chain_head = leaf_hash(b"other")),
            ("another log", |b| b.log_id.push('x')),
            ("another time", |b| {
                b.signed_at += chrono::Duration::microseconds(1)
            }),
            ("another key id", |b| b.key_id = "0000000000000000".into()),
        ];
        for (what, change) in changes {
            let mut changed = signed.clone();
            change(&mut changed.body);
            assert_eq!(
                verify_checkpoint(&changed, &key(1).verifying_key()),
                Err(CheckpointError::BadSignature),
                "{what}"
            );
        }
    }

    #[test]
    fn a_checkpoint_does_not_hold_with_another_key() {
        let signed = sign_checkpoint(body(at(0)), &key(1));
        assert_eq!(
            verify_checkpoint(&signed, &key(2).verifying_key()),
            Err(CheckpointError::BadSignature)
        );
    }

    #[test]
    fn a_changed_signature_does_not_hold() {
        let signed = sign_checkpoint(body(at(0)), &key(1));
        let mut raw = URL_SAFE_NO_PAD.decode(&signed.signature).unwrap();
        for byte in [0, 31, 32, 63] {
            raw[byte] ^= 1;
            let mut changed = signed.clone();
            changed.signature = URL_SAFE_NO_PAD.encode(&raw);
            assert_eq!(
                verify_checkpoint(&changed, &key(1).verifying_key()),
                Err(CheckpointError::BadSignature),
                "byte {byte}"
            );
            raw[byte] ^= 1;
        }
    }

    #[test]
    fn a_signature_that_is_not_one_is_malformed() {
        let signed = sign_checkpoint(body(at(0)), &key(1));
        let not_signatures = [
            "!!".to_owned() + &signed.signature[2..],
            signed.signature.clone() + "=",
            signed.signature[..40].to_owned(),
            String::new(),
        ];
        for signature in not_signatures {
            let changed = SignedCheckpoint {
                signature: signature.clone(),
                ..signed.clone()
            };
            assert!(
                matches!(
                    verify_checkpoint(&changed, &key(1).verifying_key()),
                    Err(CheckpointError::Malformed(_))
                ),
                "{signature:?}"
            );
        }
    }

    #[test]
    fn a_body_beyond_two_to_the_53_records_has_no_signed_bytes() {
        let mut b = body(at(0));
        b.tree_size = (1 << 53) + 1;
        assert!(matches!(
            b.signed_bytes(),
            Err(CheckpointError::Malformed(_))
        ));
    }

    #[test]
    fn a_key_id_is_16_hex_digits_of_the_keys_hash() {
        let public = key(1).verifying_key();
        let id = key_id(&public);
        assert_eq!(id.len(), 16);
        assert_eq!(
            id,
            hex::encode(sha2::Sha256::digest(public.as_bytes()))[..16]
        );
        assert_ne!(id, key_id(&key(2).verifying_key()));
    }
}
