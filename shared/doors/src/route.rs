//! A route's declaration ([`Route`], typed, built by its contract) and what the gateway
//! reads of it ([`Declaration`], one interface for every route).

use std::any::TypeId;
use std::marker::PhantomData;

use problem::Problem;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{Operation, Parameter};

use crate::door::{BodyId, Door, Method, PathId};
use crate::meta::{Answer, Call, Content, Meta};
use crate::parts::{BodyPart, NoBody, NoPath, NoQuery, PathPart, QueryPart};
use crate::query::Rules;
use crate::schema::Schemas;

/// A tag of the document: a group of routes and what they are about.
#[derive(Debug, Clone, Copy)]
pub struct Tag {
    pub name: &'static str,
    pub description: &'static str,
}

/// Everything a contract says of its HTTP surface: its tags and its routes.
pub struct Api {
    pub tags: &'static [Tag],
    pub routes: Vec<Declared>,
}

/// A request, as the gateway read it off the wire.
#[derive(Debug)]
pub struct Input<'a> {
    /// The path's parameters, percent-decoded, by name.
    pub path: &'a [(String, String)],
    /// The raw query string (empty when there is none).
    pub query: &'a str,
    /// The body's bytes (or why they could not be read), for a route that takes one.
    pub body: Option<Result<&'a [u8], Problem>>,
}

/// A request turned into its bus call.
#[derive(Debug)]
pub struct Decoded {
    /// The bus request, as JSON.
    pub request: serde_json::Value,
    /// The service answers in another format than JSON ([`crate::Rendered`]).
    pub rendered: bool,
}

/// What the gateway reads of any declared route.
pub trait Declaration: Send + Sync + 'static {
    fn meta(&self) -> &Meta;
    /// What each parameter of the path names.
    fn ids(&self) -> &'static [PathId];
    /// The ids in the body, what each names and whose it may be.
    fn body_ids(&self) -> &'static [BodyId] {
        self.meta().body_ids
    }
    /// Does the route read a JSON body?
    fn takes_body(&self) -> bool;
    /// The query parameters the route reads, as documented.
    fn query_parameters(&self) -> Vec<Parameter>;
    /// The route's operation for the document, registering the named schemas it uses.
    fn operation(&self, schemas: &mut Schemas) -> Operation;
    /// Path, then query, then body (in that order, so the first fault is named first) turned
    /// into the bus request of a [`Call::Service`] route.
    fn decode(&self, input: Input<'_>) -> Result<Decoded, Problem>;
}

/// A declared route, ready to mount.
pub type Declared = Box<dyn Declaration>;

/// Makes a bus request from a route's path, query and body.
type Request<P, Q, B, R> = fn(P, Q, B) -> Result<R, Problem>;

/// A route's declaration: `P` its path, `Q` its query, `B` its body, `R` its bus request.
///
/// ```ignore
/// Route::get("get_group", "/api/v1/municipality-groups/{group_id}")
///     .tag("municipalities")
///     .summary("One group with its members.")
///     .door(Door::Signed(&[Action::ReadRegister]))
///     .path::<GroupPath>()
///     .service(SERVICE, ep::GET_GROUP, |p, _, _| Ok(GetGroup { group_id: p.group_id }))
///     .reads_after()
///     .answers::<GroupView>(200, "the group")
///     .problems(&[(404, "no such group")])
/// ```
pub struct Route<P = NoPath, Q = NoQuery, B = NoBody, R = ()> {
    meta: Meta,
    request: Option<Request<P, Q, B, R>>,
    rendered: fn(&R) -> bool,
    rules: Rules,
    _parts: PhantomData<fn(P, Q, B) -> R>,
}

impl Route {
    fn new(method: Method, operation_id: &'static str, path: &'static str) -> Self {
        Self {
            meta: Meta {
                method,
                path,
                operation_id,
                tag: "",
                summary: "",
                door: Door::Open,
                call: Call::Gateway,
                reads_after: false,
                headers: None,
                body_doc: None,
                answers: Vec::new(),
                problems: Vec::new(),
                location: None,
                body_ids: &[],
            },
            request: None,
            rendered: |_| false,
            rules: Rules::default(),
            _parts: PhantomData,
        }
    }

    pub fn get(operation_id: &'static str, path: &'static str) -> Self {
        Self::new(Method::Get, operation_id, path)
    }

    pub fn post(operation_id: &'static str, path: &'static str) -> Self {
        Self::new(Method::Post, operation_id, path)
    }

    pub fn put(operation_id: &'static str, path: &'static str) -> Self {
        Self::new(Method::Put, operation_id, path)
    }

    pub fn patch(operation_id: &'static str, path: &'static str) -> Self {
        Self::new(Method::Patch, operation_id, path)
    }

    pub fn delete(operation_id: &'static str, path: &'static str) -> Self {
        Self::new(Method::Delete, operation_id, path)
    }
}

impl<P, Q, B, R> Route<P, Q, B, R> {
    /// The document's group for the route.
    pub fn tag(mut self, tag: &'static str) -> Self {
        self.meta.tag = tag;
        self
    }

    /// What the route does, for the document.
    pub fn summary(mut self, summary: &'static str) -> Self {
        self.meta.summary = summary;
        self
    }

    /// Who gets through (open until said).
    pub fn door(mut self, door: Door) -> Self {
        self.meta.door = door;
        self
    }

    /// The route is a read that honours `Tsunagu-Min-Position` (read-your-writes).
    pub fn reads_after(mut self) -> Self {
        self.meta.reads_after = true;
        self
    }

    /// Request headers the route reads, as `H` (`IntoParams`, `parameter_in = Header`)
    /// documents them.
    pub fn headers<H: utoipa::IntoParams>(mut self) -> Self {
        self.meta.headers = Some(|| H::into_params(|| None));
        self
    }

    /// A success answer: `T` as JSON.
    pub fn answers<T: ToSchema + 'static>(self, status: u16, description: &'static str) -> Self {
        self.answers_as(status, description, &[Content::json::<T>()])
    }

    /// A success answer: a [`Page`] of `T`.
    pub fn answers_page<T: ToSchema + 'static>(
        self,
        status: u16,
        description: &'static str,
    ) -> Self {
        self.answers_as(status, description, &[Content::page::<T>()])
    }

    /// A success answer in one or more media types.
    pub fn answers_as(
        mut self,
        status: u16,
        description: &'static str,
        contents: &[Content],
    ) -> Self {
        self.meta.answers.push(Answer {
            status,
            description,
            contents: contents.to_vec(),
            headers: Vec::new(),
        });
        self
    }

    /// Headers of the answer declared last: (name, what it holds).
    pub fn with_headers(mut self, headers: &[(&'static str, &'static str)]) -> Self {
        if let Some(answer) = self.meta.answers.last_mut() {
            answer.headers.extend_from_slice(headers);
        }
        self
    }

    /// Problem details the route answers, with what each means here. Those every route may
    /// give (401, 429, 500, …) need not be listed.
    pub fn problems(mut self, problems: &[(u16, &'static str)]) -> Self {
        self.meta.problems.extend_from_slice(problems);
        self
    }

    /// The ids the body carries, what each names and whose it may be. Every field of a
    /// body that names an object is declared here (a test fails on one that is not): the
    /// gateway holds each to the caller's municipality as its scope says.
    pub fn body_ids(mut self, ids: &'static [BodyId]) -> Self {
        self.meta.body_ids = ids;
        self
    }

    /// A `Location` header on the answer, read from the service's reply.
    pub fn location(mut self, location: fn(&serde_json::Value) -> Option<String>) -> Self {
        self.meta.location = Some(location);
        self
    }

    /// The body, as the document describes it, of a route whose gateway handler reads it
    /// itself (a stream, a form).
    pub fn body_doc(mut self, content: Content, description: Option<&'static str>) -> Self {
        self.meta.body_doc = Some((content, description));
        self
    }

    fn with_parts<P2, Q2, B2>(self) -> Route<P2, Q2, B2, ()> {
        Route {
            meta: self.meta,
            request: None,
            rendered: |_| false,
            rules: self.rules,
            _parts: PhantomData,
        }
    }
}

impl<Q, B> Route<NoPath, Q, B, ()> {
    /// The ids in the path, as `P` names and documents them.
    pub fn path<P: PathPart>(self) -> Route<P, Q, B, ()> {
        self.with_parts()
    }
}

impl<P, B> Route<P, NoQuery, B, ()> {
    /// The query parameters, as `Q` documents them.
    pub fn query<Q: QueryPart>(self) -> Route<P, Q, B, ()> {
        let mut route = self.with_parts();
        route.rules = Rules::read(&Q::parameters());
        route
    }
}

impl<P, Q> Route<P, Q, NoBody, ()> {
    /// A JSON body of type `B`.
    pub fn body<B: BodyPart>(self) -> Route<P, Q, B, ()> {
        self.with_parts()
    }
}

impl<P, Q, B> Route<P, Q, B, ()> {
    /// The bus call: `request` makes the endpoint's request from the path, query and body.
    pub fn service<R: Serialize>(
        self,
        service: &'static str,
        endpoint: &'static str,
        request: fn(P, Q, B) -> Result<R, Problem>,
    ) -> Route<P, Q, B, R> {
        let mut meta = self.meta;
        meta.call = Call::Service { service, endpoint };
        Route {
            meta,
            request: Some(request),
            rendered: |_| false,
            rules: self.rules,
            _parts: PhantomData,
        }
    }
}

impl<P, Q, B, R> Route<P, Q, B, R> {
    /// The service answers `Rendered` (CSV, HTML…) when `rendered` says so of the request,
    /// JSON otherwise.
    pub fn rendered_when(mut self, rendered: fn(&R) -> bool) -> Self {
        self.rendered = rendered;
        self
    }
}

impl<P: PathPart, Q: QueryPart, B: BodyPart, R: Serialize + 'static> Declaration
    for Route<P, Q, B, R>
{
    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn ids(&self) -> &'static [PathId] {
        P::ids()
    }

    fn takes_body(&self) -> bool {
        TypeId::of::<B>() != TypeId::of::<NoBody>()
    }

    fn query_parameters(&self) -> Vec<Parameter> {
        Q::parameters()
    }

    fn operation(&self, schemas: &mut Schemas) -> Operation {
        let mut parameters = P::parameters();
        parameters.extend(Q::parameters());
        let body = B::schema(schemas).map(|schema| (schema, "application/json", None));
        crate::document::operation(&self.meta, parameters, body, schemas)
    }

    fn decode(&self, input: Input<'_>) -> Result<Decoded, Problem> {
        let Some(request) = self.request else {
            // A gateway handler answers this route; the gateway never decodes it.
            return Err(Problem::internal());
        };
        let path = P::parse(input.path)?;
        let query = Q::parse(input.query, &self.rules)?;
        let body = match input.body {
            Some(bytes) => B::parse(bytes?)?,
            None => B::parse(b"")?,
        };
        let request = request(path, query, body)?;
        let rendered = (self.rendered)(&request);
        let request = serde_json::to_value(&request).map_err(|_| Problem::internal())?;
        Ok(Decoded { request, rendered })
    }
}

impl<P: PathPart, Q: QueryPart, B: BodyPart, R: Serialize + 'static> From<Route<P, Q, B, R>>
    for Declared
{
    fn from(route: Route<P, Q, B, R>) -> Self {
        Box::new(route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::door::Object;
    use crate::parts::{PathIds, Written};
    use permissions::Action;
    use serde::Deserialize;
    use serde_json::{Value, json};
    use utoipa::IntoParams;

    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Path)]
    struct BoardPath {
        /// The municipality.
        #[param(pattern = "^[0-9]{6}$")]
        code: String,
    }

    impl PathIds for BoardPath {
        const IDS: &'static [PathId] = &[PathId::new("code", Object::Municipality)];
    }

    #[derive(Debug, Deserialize, IntoParams)]
    #[serde(deny_unknown_fields)]
    #[into_params(parameter_in = Query)]
    struct Paging {
        /// Page size.
        #[param(minimum = 1, maximum = 50)]
        limit: Option<u32>,
        /// `json` or `csv`.
        #[param(pattern = "^(json|csv)$")]
        format: Option<String>,
    }

    /// A post to a board.
    #[derive(Debug, Deserialize, Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    struct NewPost {
        /// What it says.
        text: String,
    }

    #[derive(Debug, Serialize)]
    struct Post {
        code: String,
        limit: Option<u32>,
        format: Option<String>,
        text: String,
    }

    fn post_route() -> Declared {
        Route::post("post", "/api/v1/municipalities/{code}/board")
            .tag("boards")
            .summary("Post to a municipality's board.")
            .door(Door::Signed(&[Action::PostToBoard]))
            .path::<BoardPath>()
            .query::<Paging>()
            .body::<NewPost>()
            .service("messaging", "post", |p, q, b| {
                Ok(Post {
                    code: p.code,
                    limit: q.limit,
                    format: q.format,
                    text: b.text,
                })
            })
            .rendered_when(|post| post.format.as_deref() == Some("csv"))
            .answers::<Written>(201, "posted")
            .problems(&[(404, "no such municipality")])
            .into()
    }

    fn decode(query: &str, body: Result<&[u8], Problem>) -> Result<Decoded, Value> {
        let path = [("code".to_owned(), "322032".to_owned())];
        post_route()
            .decode(Input {
                path: &path,
                query,
                body: Some(body),
            })
            .map_err(|p| serde_json::to_value(p).unwrap())
    }

    #[test]
    fn a_request_becomes_its_bus_request_from_path_query_and_body() {
        let decoded = decode("limit=5", Ok("{\"text\":\"お知らせ\"}".as_bytes())).unwrap();
        assert_eq!(
            decoded.request,
            json!({"code": "322032", "limit": 5, "format": null, "text": "お知らせ"})
        );
        assert!(!decoded.rendered);
        assert!(
            decode("format=csv", Ok(br#"{"text":"a"}"#))
                .unwrap()
                .rendered
        );
    }

    #[test]
    fn the_first_fault_named_is_the_querys_then_the_bodys() {
        let unreadable = Err(Problem::new(415, "unsupported-media-type", "no"));
        assert_eq!(
            decode("limit=99", unreadable.clone()).unwrap_err()["status"],
            422
        );
        let problem = decode("limit=9", unreadable).unwrap_err();
        assert_eq!(problem["status"], 415);
        let problem = decode("", Ok(br#"{"text":"a","position":"x"}"#)).unwrap_err();
        assert_eq!(problem["errors"][0]["pointer"], "/position");
    }

    #[test]
    fn the_operation_says_what_the_declaration_says() {
        let route = post_route();
        let mut schemas = Vec::new();
        let op = serde_json::to_value(route.operation(&mut schemas)).unwrap();
        assert_eq!(op["operationId"], "post");
        assert_eq!(op["tags"], json!(["boards"]));
        assert_eq!(op["security"], json!([{"bearer": []}]));
        let parameters: Vec<(&str, &str)> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["in"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        assert_eq!(
            parameters,
            [("path", "code"), ("query", "limit"), ("query", "format")]
        );
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/NewPost"
        );
        assert_eq!(op["requestBody"]["required"], true);
        assert_eq!(
            op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Written"
        );
        assert_eq!(
            op["responses"]["404"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        let names: Vec<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"NewPost") && names.contains(&"Written"),
            "{names:?}"
        );
        assert!(route.takes_body());
        assert_eq!(route.ids(), BoardPath::IDS);
    }

    #[test]
    fn an_open_read_asks_for_no_credential_and_lists_the_read_after_header() {
        let route: Declared = Route::get("list", "/api/v1/things")
            .service("things", "list", |_, _, _| Ok(json!({})))
            .reads_after()
            .answers_page::<NewPost>(200, "a page")
            .into();
        let mut schemas = Vec::new();
        let op = serde_json::to_value(route.operation(&mut schemas)).unwrap();
        assert!(op.get("security").is_none(), "{op}");
        assert_eq!(op["parameters"][0]["name"], "Tsunagu-Min-Position");
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Page_NewPost"
        );
        let names: Vec<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"Page_NewPost") && names.contains(&"NewPost"),
            "{names:?}"
        );
        assert!(!route.takes_body());
    }

    #[test]
    fn a_route_the_gateway_answers_is_never_decoded() {
        let route: Declared = Route::get("healthz", "/healthz").into();
        assert_eq!(route.meta().call, Call::Gateway);
        let problem = route
            .decode(Input {
                path: &[],
                query: "",
                body: None,
            })
            .unwrap_err();
        assert_eq!(problem.status, 500);
    }
}
