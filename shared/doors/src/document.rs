//! A route's operation in the OpenAPI document, written from its declaration.

use utoipa::IntoParams;
use utoipa::openapi::path::{Operation, OperationBuilder, Parameter};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{Object, Schema, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder, header::Header};

use crate::meta::Meta;
use crate::parts::ReadAfter;
use crate::schema::Schemas;

/// Content type of every problem answer.
const PROBLEM_JSON: &str = "application/problem+json";

pub(crate) fn operation(
    meta: &Meta,
    mut parameters: Vec<Parameter>,
    body: Option<(RefOr<Schema>, &'static str, Option<&'static str>)>,
    schemas: &mut Schemas,
) -> Operation {
    if meta.reads_after {
        parameters.extend(ReadAfter::into_params(|| None));
    }
    if let Some(headers) = meta.headers {
        parameters.extend(headers());
    }
    let mut op = OperationBuilder::new()
        .tag(meta.tag)
        .summary(Some(meta.summary).filter(|s| !s.is_empty()))
        .operation_id(Some(meta.operation_id))
        .parameters(Some(parameters).filter(|p| !p.is_empty()));
    let body = match meta.body_doc {
        Some((content, description)) => {
            Some((content.schema(schemas), content.media_type, description))
        }
        None => body,
    };
    let scoped = body_ids_described(meta);
    if let Some((schema, media_type, description)) = body {
        let description = match (description, scoped) {
            (Some(d), Some(s)) => Some(format!("{d}\n\n{s}")),
            (d, s) => d.map(str::to_owned).or(s),
        };
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .description(description)
                .content(
                    media_type,
                    ContentBuilder::new().schema(Some(schema)).build(),
                )
                .required(Some(Required::True))
                .build(),
        ));
    }
    for answer in &meta.answers {
        let mut response = ResponseBuilder::new().description(answer.description);
        for (name, description) in &answer.headers {
            let mut header = Header::new(Object::with_type(Type::String));
            header.description = Some((*description).to_owned());
            response = response.header(*name, header);
        }
        for content in &answer.contents {
            response = response.content(
                content.media_type,
                ContentBuilder::new()
                    .schema(Some(content.schema(schemas)))
                    .build(),
            );
        }
        op = op.response(answer.status.to_string(), response.build());
    }
    for (status, description) in &meta.problems {
        let problem = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build();
        op = op.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(*description)
                .content(PROBLEM_JSON, problem)
                .build(),
        );
    }
    if !meta.door.is_open() {
        op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    }
    op.build()
}

/// What the body's ids may name, in words: the rule the gateway enforces and a schema
/// cannot state.
fn body_ids_described(meta: &Meta) -> Option<String> {
    use crate::door::Scope;
    let lines: Vec<String> = meta
        .body_ids
        .iter()
        .map(|id| {
            let noun = id.object.noun();
            let pointer = id.pointer;
            match id.scope {
                Scope::Own if id.object == crate::door::Object::File => format!(
                    "`{pointer}` names a file you or your site uploaded (its SHA-256); any other is answered as a file that does not exist (422)."
                ),
                Scope::Own => format!(
                    "`{pointer}` names a {noun} of your own municipality; any other is answered as a {noun} that does not exist (422)."
                ),
                Scope::Crossing(why) => {
                    format!("`{pointer}` may name a {noun} of any municipality: {why}.")
                }
                Scope::HeldBy(how) => format!("`{pointer}` names a {noun}: {how}."),
                Scope::New => format!("`{pointer}` is the id of the new {noun}."),
            }
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}
