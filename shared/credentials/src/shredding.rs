//! Erasure without rewriting history (crypto-shredding): the personal fields of a patient's
//! events are sealed with that patient's own data key, which lives outside the stream.
//! Destroying the key erases those fields from every replay and every rebuild, while the
//! events themselves — and everything else they say — stay as they were.
//!
//! Each sealed field is bound to its context (the patient and the field's place), so a
//! ciphertext copied into another patient's event does not open there.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;

use crate::sealed::SealError;

/// One patient's data key (32 bytes). Kept sealed in the credential store; never in an event.
#[derive(Clone)]
pub struct DataKey([u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh random key for a newly registered patient.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// From its 32 stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(Self(key))
    }

    /// Its bytes, to be sealed under the credential key before they are stored.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Seals `plaintext` for `context` (e.g. `patient:<id>/PatientRegistered`): base64url of
    /// a random nonce, the ciphertext and its tag.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce cannot fail.
        out.extend(
            cipher
                .encrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: plaintext,
                        aad: context.as_bytes(),
                    },
                )
                .unwrap_or_default(),
        );
        BASE64URL_NOPAD.encode(&out)
    }

    /// A search term keyed with this key for `context` (e.g. `patient:<id>/search`): the
    /// same term gives the same number, and nobody without the key can tell which term it
    /// was — or, once the key is destroyed, find the term again. The first 8 bytes of
    /// HMAC-SHA-256 over the context and the term.
    pub fn term(&self, context: &str, term: &str) -> i64 {
        use hmac::{Hmac, Mac};
        // A 32-byte key is always a valid HMAC key.
        let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0) else {
            return 0;
        };
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(term.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(first)
    }

    /// Opens what [`seal`](Self::seal) produced for the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let bytes = BASE64URL_NOPAD
            .decode(sealed.as_bytes())
            .map_err(|_| SealError::Open)?;
        if bytes.len() < 12 + 16 {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        ChaCha20Poly1305::new(Key::from_slice(&self.0))
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_is_the_same_under_one_key_and_context_and_unlike_under_another() {
        let key = DataKey::generate();
        let t = key.term("patient:p1/search", "褥瘡");
        assert_eq!(t, key.term("patient:p1/search", "褥瘡"));
        assert_ne!(t, key.term("patient:p2/search", "褥瘡"));
        assert_ne!(t, key.term("patient:p1/search", "発熱"));
        assert_ne!(t, DataKey::generate().term("patient:p1/search", "褥瘡"));
    }

    #[test]
    fn a_field_opens_with_its_patients_key_in_its_own_context_only() {
        let key = DataKey::generate();
        let sealed = key.seal("patient:p1/registered", "山田 太郎".as_bytes());
        assert!(!sealed.contains("山田"));
        assert_eq!(
            key.open("patient:p1/registered", &sealed).unwrap(),
            "山田 太郎".as_bytes()
        );
        assert_eq!(
            key.open("patient:p2/registered", &sealed),
            Err(SealError::Open),
            "moved to another patient's event, it does not open"
        );
        assert_eq!(
            DataKey::generate().open("patient:p1/registered", &sealed),
            Err(SealError::Open),
            "once the key is destroyed, no other key opens it"
        );
    }

    #[test]
    fn a_key_round_trips_through_its_bytes() {
        let key = DataKey::generate();
        let again = DataKey::from_bytes(key.as_bytes()).unwrap();
        let sealed = key.seal("c", b"x");
        assert_eq!(again.open("c", &sealed).unwrap(), b"x");
        assert!(DataKey::from_bytes(&[0u8; 31]).is_err());
    }
}
