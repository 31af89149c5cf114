//! The audit service: a tamper-evident log of every access to patient data and every
//! security event of the platform, which auditors query, verify and replay.
//!
//! - `collector`: copies audited events of the other contexts into the audit stream, whose
//!   order the chain follows;
//! - `records`: which events are audited and the record each makes (patients by pseudonym);
//! - `log`: the chaining projection (hash chain, Merkle subtrees, keys, checkpoints);
//! - `keys`, `checkpointer`: sealed signing keys, signed checkpoints published as events;
//! - `verify`: the walk that names the first record altered, deleted, inserted, reordered
//!   or duplicated;
//! - `handlers`, `reports`, `render`: scoped, audited reads and their formats;
//! - `names`: people and places by name, as the log's own records name them.

pub mod app;
pub mod checkpointer;
pub mod collector;
mod error;
pub mod handlers;
pub mod keys;
pub mod log;
mod names;
pub mod records;
pub mod render;
pub mod reports;
mod scope;
pub mod settings;
pub mod verify;
mod words;

pub use error::AuditError;
