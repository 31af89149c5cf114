//! The gateway: the only door to the platform. Every request is authenticated,
//! authorised, limited, traced and described (OpenAPI at `/api/v1/openapi.json`), then
//! forwarded as one call over the bus. It holds no domain logic and reads no service's
//! database.

pub mod access;
pub mod app;
pub mod auth;
pub mod error;
pub mod extract;
pub mod guard;
pub mod limits;
pub mod mount;
pub mod routes;
pub mod scope;
pub mod serve;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod web;
