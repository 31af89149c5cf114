//! The web application's side of the gateway: its built files served at `/` with a strict
//! Content-Security-Policy, and the refresh cookie that keeps a browser signed in without
//! the page ever holding a long-lived credential.
//!
//! Neither adds a door: the files are public (the application's shell holds no data), and
//! the cookie only carries the refresh token the JSON body carries for API clients.

pub mod files;
pub mod refresh_cookie;

pub use files::{AppFiles, serve_app};
