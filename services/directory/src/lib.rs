//! The resource directory: each site says what it can take now, and a care manager sees
//! every site's latest status with how fresh it is (ARCHITECTURE.md, "Directory"). It holds
//! no patient data; the register of sites is identity's, asked over the bus.

pub mod app;
pub mod domain;
pub mod handlers;
pub mod projections;
pub mod settings;
