//! Credential primitives for sign-in: password hashing (argon2id), time-based one-time
//! passwords (RFC 6238), and opaque tokens stored only as hashes.
//!
//! What it promises: nothing here keeps or logs a secret; hashes and secrets are values
//! the identity service puts in its own credential store, never in an event. Comparisons
//! of codes and token hashes are constant-time. Time is passed in (from the service's
//! clock), so tests compute codes for any instant.

pub mod password;
pub mod sealed;
pub mod shredding;
pub mod token;
pub mod totp;
