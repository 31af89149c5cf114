//! The messaging service's projections, in its own database.

pub mod boards;
pub mod broadcasts;
pub mod consultations;
pub mod timeline;
