//! The identity & consent service. So far: the register of municipalities (the region's
//! tenants), their areas and groupings, and the directory of organisations (法人) and
//! their service sites (事業所), on the skeleton every later service copies:
//! pure domain → conditional append to JetStream → projection in its own Postgres schema
//! → queries over the bus with read-your-writes.

pub mod app;
pub mod domain;
pub mod handlers;
pub mod projections;
pub mod queries;
pub mod settings;
pub mod signin;
