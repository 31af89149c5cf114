//! Opaque tokens (activation, refresh): handed out once, stored only as SHA-256 hashes.

use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh token: 32 random bytes, base64url. Shown once; only its hash is kept.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

/// The hash under which a token is stored and looked up (hex SHA-256).
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `token` hashes to `stored_hash`, in constant time.
pub fn matches(token: &str, stored_hash: &str) -> bool {
    bool::from(token_hash(token).as_bytes().ct_eq(stored_hash.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_its_hash_and_no_other() {
        let t = new_token();
        let h = token_hash(&t);
        assert_eq!(h.len(), 64);
        assert!(matches(&t, &h));
        assert!(!matches(&new_token(), &h));
        assert_ne!(new_token(), t);
    }
}
