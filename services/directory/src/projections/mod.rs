//! The directory's projections, in its own database.

pub mod availability;
