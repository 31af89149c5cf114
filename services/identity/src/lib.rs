//! The identity & consent service: the register of municipalities (the region's tenants),
//! their areas and groupings; the directory of organisations (法人) and their service sites
//! (事業所); members, signing in and tokens; and patients — registration, consents, care
//! teams, break-glass, documents — with the one access decision every read of patient data
//! goes through, recorded allowed or denied, and personal data sealed per patient so that
//! destroying the patient's key erases it from every replay.
//!
//! On the skeleton every later service copies: pure domain → conditional append to
//! JetStream → projections in its own Postgres schemas → queries over the bus with
//! read-your-writes.

pub mod app;
#[cfg(feature = "unrecorded-reads-for-benchmarks")]
pub mod benchmarks;
pub mod break_glass;
pub mod credential_store;
pub mod domain;
pub mod handlers;
pub mod projections;
pub mod queries;
pub mod records;
pub mod sealing;
pub mod settings;
pub mod signin;
