//! What is declared of a route besides its types: method, path, door, the call it makes, its
//! answers and problems.

use utoipa::ToSchema;
use utoipa::openapi::path::Parameter;
use utoipa::openapi::{RefOr, schema::Schema};

use crate::door::{BodyId, Door, Method};
use crate::parts::Page;
use crate::schema::{Schemas, schema_name, schema_of};

/// What a route's handler does with a request it let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Forwards it to one endpoint of one service on the bus and answers with the reply.
    Service {
        service: &'static str,
        endpoint: &'static str,
    },
    /// A handler written in the gateway answers it: streams, sign-in, health, the document.
    Gateway,
}

/// One media type of an answer or a body, with its schema.
#[derive(Clone, Copy)]
pub struct Content {
    pub media_type: &'static str,
    pub(crate) schema: fn(&mut Schemas) -> RefOr<Schema>,
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Content")
            .field("media_type", &self.media_type)
            .finish()
    }
}

impl Content {
    /// `T` as `media_type`: a named schema of the document (strings and any JSON value are
    /// written in place).
    pub fn of<T: ToSchema + 'static>(media_type: &'static str) -> Self {
        Self {
            media_type,
            schema: schema_of::<T>,
        }
    }

    /// `T` as JSON.
    pub fn json<T: ToSchema + 'static>() -> Self {
        Self::of::<T>("application/json")
    }

    /// A [`Page`] of `T` as JSON.
    pub fn page<T: ToSchema + 'static>() -> Self {
        Self {
            media_type: "application/json",
            schema: |schemas| {
                // As utoipa's own path macro writes a generic answer: the page, named after
                // its argument, holds the argument's schema in place, and the argument is
                // registered too.
                use utoipa::__dev::ComposeSchema;
                schema_of::<T>(schemas);
                let name = schema_name::<Page<T>>();
                schemas.push((name.clone(), Page::<T>::compose(vec![T::schema()])));
                RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
            },
        }
    }

    /// The schema, registering the named schemas it refers to.
    pub fn schema(&self, schemas: &mut Schemas) -> RefOr<Schema> {
        (self.schema)(schemas)
    }
}

/// One answer a route gives.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub description: &'static str,
    pub contents: Vec<Content>,
    /// Response headers: (name, what it holds).
    pub headers: Vec<(&'static str, &'static str)>,
}

/// What is declared of a route besides its types.
#[derive(Debug, Clone)]
pub struct Meta {
    pub method: Method,
    /// The whole path as the router matches it, e.g. `/api/v1/sites/{site_id}`.
    pub path: &'static str,
    /// Unique across the API; also names a gateway handler ([`Call::Gateway`]).
    pub operation_id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub door: Door,
    pub call: Call,
    /// A read that waits until the answering projection has a position the client sends in
    /// `Tsunagu-Min-Position` (read-your-writes).
    pub reads_after: bool,
    /// Request headers the route's gateway handler reads, as the document lists them.
    pub headers: Option<fn() -> Vec<Parameter>>,
    /// The body as the document describes it when the gateway's own handler reads it
    /// (a stream, a form), with what it is.
    pub body_doc: Option<(Content, Option<&'static str>)>,
    pub answers: Vec<Answer>,
    /// Problem details the route answers, with what they mean here.
    pub problems: Vec<(u16, &'static str)>,
    /// Where the created thing is, from the service's answer (a `Location` header).
    pub location: Option<fn(&serde_json::Value) -> Option<String>>,
    /// The ids the body carries: what each names and whose it may be.
    pub body_ids: &'static [BodyId],
}
