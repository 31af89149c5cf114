//! Passwords: argon2id in PHC string format.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// The longest password accepted (bounds the hashing work one request can cause).
pub const MAX_LENGTH: usize = 256;

/// A stored password hash (PHC string: algorithm, parameters, salt and hash).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string read back from the credential store.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for the credential store.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Why a password is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_LENGTH`] characters.
    #[error("a password has at least {MIN_LENGTH} characters")]
    TooShort,
    /// More than [`MAX_LENGTH`] characters.
    #[error("a password has at most {MAX_LENGTH} characters")]
    TooLong,
    /// The hasher failed (it does not for valid parameters).
    #[error("password hashing failed")]
    Hashing,
}

// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the policy and hashes a new password with a fresh salt.
pub fn hash_password(password: &str) -> Result<PasswordHash, PasswordError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    let mut salt_bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| PasswordError::Hashing)?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| PasswordHash(h.to_string()))
        .map_err(|_| PasswordError::Hashing)
}

/// Whether `password` matches `stored`. A malformed stored hash never matches.
pub fn verify_password(password: &str, stored: &PasswordHash) -> bool {
    if password.chars().count() > MAX_LENGTH {
        return false;
    }
    match argon2::password_hash::PasswordHash::new(&stored.0) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert_ne!(a, b, "fresh salt each time");
    }

    #[test]
    fn short_and_overlong_passwords_are_refused() {
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
        assert_eq!(hash_password(&"x".repeat(257)), Err(PasswordError::TooLong));
    }

    #[test]
    fn a_malformed_stored_hash_never_matches() {
        assert!(!verify_password(
            "anything at all",
            &PasswordHash::from_stored("garbage".into())
        ));
    }

    #[test]
    fn a_hash_never_shows_in_debug_output() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(!format!("{hash:?}").contains("argon2"));
    }
}
