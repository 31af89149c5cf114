//! The parts of a request a route reads — the ids in its path, its query parameters, its
//! body — and the answers every route shares.

use problem::Problem;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa::{IntoParams, ToSchema};

use crate::door::PathId;
use crate::query::Rules;
use crate::schema::{Schemas, schema_of};

/// What the parameters of a path struct name. Implemented beside the struct, which also
/// derives `Deserialize` and `IntoParams` (`parameter_in = Path`): then it is a
/// [`PathPart`] every route with that path can use.
pub trait PathIds {
    /// One entry per field, by the field's name.
    const IDS: &'static [PathId];
}

/// The ids in a route's path.
pub trait PathPart: Sized + 'static {
    /// What each parameter names.
    fn ids() -> &'static [PathId];
    /// The parameters as the document lists them.
    fn parameters() -> Vec<Parameter>;
    /// The decoded parameters, by name.
    fn parse(pairs: &[(String, String)]) -> Result<Self, Problem>;
}

/// A route with nothing in its path.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPath;

impl PathPart for NoPath {
    fn ids() -> &'static [PathId] {
        &[]
    }
    fn parameters() -> Vec<Parameter> {
        Vec::new()
    }
    fn parse(_: &[(String, String)]) -> Result<Self, Problem> {
        Ok(Self)
    }
}

impl<T: PathIds + IntoParams + DeserializeOwned + 'static> PathPart for T {
    fn ids() -> &'static [PathId] {
        T::IDS
    }
    fn parameters() -> Vec<Parameter> {
        T::into_params(|| Some(ParameterIn::Path))
    }
    fn parse(pairs: &[(String, String)]) -> Result<Self, Problem> {
        let fields = pairs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>();
        serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|e| Problem::bad_request(format!("the path is invalid: {e}")))
    }
}

/// A route's query parameters.
pub trait QueryPart: Sized + 'static {
    /// The parameters as the document lists them.
    fn parameters() -> Vec<Parameter>;
    /// The query string, held to `rules` (read from [`QueryPart::parameters`]) and parsed.
    fn parse(query: &str, rules: &Rules) -> Result<Self, Problem>;
}

/// A route that reads no query parameter (a query string is ignored, as it always was).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQuery;

impl QueryPart for NoQuery {
    fn parameters() -> Vec<Parameter> {
        Vec::new()
    }
    fn parse(_: &str, _: &Rules) -> Result<Self, Problem> {
        Ok(Self)
    }
}

impl<T: IntoParams + DeserializeOwned + 'static> QueryPart for T {
    fn parameters() -> Vec<Parameter> {
        T::into_params(|| Some(ParameterIn::Query))
    }
    fn parse(query: &str, rules: &Rules) -> Result<Self, Problem> {
        rules.parse(query)
    }
}

/// A route's JSON body.
pub trait BodyPart: Sized + 'static {
    /// The body's schema for the document; `None` for a route without a body.
    fn schema(schemas: &mut Schemas) -> Option<RefOr<Schema>>;
    /// The body's bytes, parsed ([`crate::parse_body`]).
    fn parse(bytes: &[u8]) -> Result<Self, Problem>;
}

/// A route that reads no body (a body sent is not read).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBody;

impl BodyPart for NoBody {
    fn schema(_: &mut Schemas) -> Option<RefOr<Schema>> {
        None
    }
    fn parse(_: &[u8]) -> Result<Self, Problem> {
        Ok(Self)
    }
}

impl<T: ToSchema + DeserializeOwned + 'static> BodyPart for T {
    fn schema(schemas: &mut Schemas) -> Option<RefOr<Schema>> {
        Some(schema_of::<T>(schemas))
    }
    fn parse(bytes: &[u8]) -> Result<Self, Problem> {
        crate::parse_body(bytes)
    }
}

/// Answer to a command: what was changed and where its event is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Written {
    /// The stream position of the event (`STREAM:SEQUENCE`); send it back as
    /// `Tsunagu-Min-Position` to read your own write.
    #[schema(example = "TSUNAGU_IDENTITY:42")]
    pub position: String,
}

/// A file's bytes, as they were uploaded.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileContent(pub Vec<u8>);

/// Read-your-writes: the position of your last change. Every route declared as a read that
/// waits ([`crate::Route::reads_after`]) lists it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ReadAfter {
    /// Wait until the answering projection has applied this position (a `Tsunagu-Position`
    /// you received), e.g. `TSUNAGU_IDENTITY:42`.
    #[param(
        rename = "Tsunagu-Min-Position",
        pattern = "^([A-Za-z0-9_-]+:[0-9]{1,19})?$",
        nullable = false
    )]
    pub min_position: Option<String>,
}

/// A page of results with the key to ask for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// This page.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// Header: where the next page of an export starts (pass it as `after`).
pub const NEXT_AFTER_HEADER: &str = "tsunagu-next-after";

/// A service's answer in a format other than JSON (CSV, NDJSON, FHIR, HTML): the gateway
/// sends `body` as `media_type`, and `next_after` in [`NEXT_AFTER_HEADER`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    /// e.g. `text/csv; charset=utf-8`.
    pub media_type: String,
    /// The document.
    pub body: String,
    /// For paged exports: pass as `after` for the next page.
    pub next_after: Option<u64>,
}
