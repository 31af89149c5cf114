//! The pure heart of the service: aggregates that decide what happens and evolve their
//! state from events. No I/O, no clock: time and looked-up facts come in the command.

pub mod access;
pub mod care_team;
pub mod consent;
pub mod document;
pub mod group;
pub mod member;
pub mod municipality;
pub mod numbers;
pub mod organisation;
pub mod patient;
pub mod site;
mod validate;

pub use validate::{Invalid, normalised_kana, normalised_name, slug};
