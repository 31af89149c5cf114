//! The team messaging service: a patient's timeline, written once by the care team and read
//! by every member when they can. It holds no fact of consent or team: each request asks
//! identity & consent for the one access decision (which records it) and for the patient's
//! key to seal or open the text, so a withdrawal refuses the next request here as there,
//! and erasing the patient shreds the posts too (ARCHITECTURE.md, "Messaging").

pub mod app;
pub mod domain;
pub mod handlers;
pub mod projections;
pub mod settings;
