//! Secrets at rest: second-factor secrets and signing keys are sealed (ChaCha20-Poly1305)
//! with a key the credential store gets from its environment, never from its database.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

/// The key that seals secrets at rest (32 bytes).
#[derive(Clone)]
pub struct SealingKey([u8; 32]);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

/// A sealed secret could not be opened: wrong key, or altered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The key text is not 64 hex digits.
    #[error("a sealing key is 64 hex digits")]
    BadKey,
    /// The sealed bytes are altered or were sealed with another key.
    #[error("the sealed secret cannot be opened")]
    Open,
}

impl SealingKey {
    /// From 64 hex digits (e.g. `TSUNAGU_CREDENTIAL_KEY`).
    pub fn from_hex(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(SealError::BadKey);
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| SealError::BadKey)?;
        }
        Ok(Self(key))
    }

    /// A fresh random key (tests, first start of a local stack).
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Seals `plaintext`: a random nonce followed by the ciphertext and its tag.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce cannot fail.
        out.extend(
            cipher
                .encrypt(Nonce::from_slice(&nonce), plaintext)
                .unwrap_or_default(),
        );
        out
    }

    /// Opens what [`seal`](Self::seal) produced.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 12 + 16 {
            return Err(SealError::Open);
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let (nonce, ciphertext) = sealed.split_at(12);
        cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_only_and_not_when_altered() {
        let key = SealingKey::generate();
        let sealed = key.seal(b"totp secret");
        assert_ne!(&sealed[12..], b"totp secret");
        assert_eq!(key.open(&sealed).unwrap(), b"totp secret");
        assert_eq!(SealingKey::generate().open(&sealed), Err(SealError::Open));
        let mut altered = sealed.clone();
        altered[20] ^= 1;
        assert_eq!(key.open(&altered), Err(SealError::Open));
    }

    #[test]
    fn a_key_reads_from_64_hex_digits_only() {
        assert!(SealingKey::from_hex(&"ab".repeat(32)).is_ok());
        assert_eq!(SealingKey::from_hex("abcd").unwrap_err(), SealError::BadKey);
        assert_eq!(
            SealingKey::from_hex(&"zz".repeat(32)).unwrap_err(),
            SealError::BadKey
        );
    }
}
