//! The routes of the HTTP API, each declared once beside its contract: method and path, its
//! door (who gets through), what the ids in its path name, the bus endpoint it forwards to,
//! its request body, query parameters and reply types, its success status and its problem
//! answers. The gateway mounts the declarations without knowing any of them: its router,
//! its access table, its OpenAPI document and its query checks are all read from here, so a
//! route is added to a service by adding one [`Route`] to its contract's list.
//!
//! A declaration is pure data plus one pure function (path ids, query and body → the bus
//! request): turning a request into its bus call needs no HTTP server, no bus and no clock,
//! and is tested here. The crate depends only downward (permissions, problem details).

mod body;
mod document;
mod door;
mod meta;
mod parts;
pub mod query;
mod route;
mod schema;

pub use body::{control_character_at, parse_body};
pub use door::{BodyId, Door, Method, Object, PathId, Scope};
pub use meta::{Answer, Call, Content, Meta};
pub use parts::{
    BodyPart, FileContent, NEXT_AFTER_HEADER, NoBody, NoPath, NoQuery, Page, PathIds, PathPart,
    QueryPart, ReadAfter, Rendered, Written,
};
pub use route::{Api, Declaration, Declared, Decoded, Input, Route, Tag};
pub use schema::Schemas;
