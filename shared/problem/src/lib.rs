//! Problem details (RFC 9457): the one shape every error of the platform takes, on HTTP
//! and on the bus alike.
//!
//! A service answers a bad command with a [`Problem`] naming the field at fault; the
//! gateway passes it to the client unchanged. Problem types are stable URIs under
//! `https://tsunagu.example/problems/` so clients can branch on them.

use serde::{Deserialize, Serialize};

/// The base of every problem type URI.
pub const TYPE_BASE: &str = "https://tsunagu.example/problems/";

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) to the field in the request, e.g. `/code` or `/areas/0/kind`.
    pub pointer: String,
    /// What is wrong with it, for a person.
    pub detail: String,
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI identifying the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request this problem belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The fields at fault, when the request was invalid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem of kind `slug` (appended to [`TYPE_BASE`]).
    pub fn new(status: u16, slug: &str, title: &str) -> Self {
        Self {
            kind: format!("{TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status,
            detail: None,
            instance: None,
            errors: Vec::new(),
        }
    }

    /// Adds a human explanation.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Names a field at fault.
    pub fn with_field(mut self, pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        self.errors.push(FieldError {
            pointer: pointer.into(),
            detail: detail.into(),
        });
        self
    }

    /// 400: the request could not be read (malformed JSON, wrong types, unknown fields).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, "bad-request", "The request could not be read").with_detail(detail)
    }

    /// 422: the request was read but a field's value is not acceptable.
    pub fn invalid_field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(422, "invalid-field", "A field has an invalid value")
            .with_detail(detail.clone())
            .with_field(pointer, detail)
    }

    /// 401: no valid credential.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(401, "unauthenticated", "Authentication is required").with_detail(detail)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "forbidden", "Not allowed").with_detail(detail)
    }

    /// 404: nothing there (or nothing the caller may know of).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, "not-found", "Not found").with_detail(detail)
    }

    /// 409: the thing already exists, or a concurrent change won.
    pub fn conflict(slug: &str, detail: impl Into<String>) -> Self {
        Self::new(409, slug, "Conflict").with_detail(detail)
    }

    /// 413: the body is larger than the route accepts.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(413, "payload-too-large", "The request body is too large")
            .with_detail(format!("the body must be at most {limit} bytes"))
    }

    /// 503: a dependency is unavailable; try again.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(503, "unavailable", "Temporarily unavailable").with_detail(detail)
    }

    /// 504: waited too long for a service or a projection.
    pub fn timeout(detail: impl Into<String>) -> Self {
        Self::new(504, "timeout", "Timed out").with_detail(detail)
    }

    /// 500: a defect. The detail never carries internals; the logs do.
    pub fn internal() -> Self {
        Self::new(500, "internal", "Internal error")
            .with_detail("something went wrong on our side; it has been logged")
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_field_problem_names_the_field_by_json_pointer() {
        let p = Problem::invalid_field("/code", "wrong check digit");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["status"], 422);
        assert_eq!(
            json["type"],
            "https://tsunagu.example/problems/invalid-field"
        );
        assert_eq!(json["errors"][0]["pointer"], "/code");
    }
}

/// Reads a JSON body as `T`. When it does not fit, the problem names the field at fault
/// by JSON pointer: 400 for malformed JSON, 422 for a well-formed body with a wrong,
/// missing or unknown field.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(refusal)?;
    // A document ends where it ends: text after it (` }x`) is not a body anyone meant, and
    // reading the first document of it would act on half of what was sent.
    de.end()
        .map_err(|_| Problem::bad_request("the body is not valid JSON: text after the document"))?;
    Ok(value)
}

/// Reads an already parsed JSON value as `T`, naming the field at fault as [`parse_json`]
/// does.
pub fn parse_value<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(refusal)
}

fn refusal(e: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let mut pointer = to_pointer(e.path());
    let inner = e.into_inner();
    let message = inner.to_string();
    // serde's message ends with " at line L column C": useless to a client.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    // A missing field is reported at its parent object: name the field itself.
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        pointer.push('/');
        pointer.push_str(&field.replace('~', "~0").replace('/', "~1"));
    }
    if inner.is_syntax() || inner.is_eof() {
        Problem::bad_request(format!("the body is not valid JSON: {message}"))
    } else {
        Problem::new(422, "invalid-body", "The body does not match the schema")
            .with_detail(message.clone())
            .with_field(pointer, message)
    }
}

fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn a_missing_field_is_named_by_its_own_pointer() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            inner: Inner,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            reason: String,
        }
        let e = parse_json::<Outer>(br#"{"inner": {}}"#).unwrap_err();
        assert_eq!(e.status, 422);
        assert_eq!(e.errors[0].pointer, "/inner/reason");
        let e = parse_json::<Inner>(b"{}").unwrap_err();
        assert_eq!(e.errors[0].pointer, "/reason");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        code: String,
        areas: Vec<Area>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Area {
        kind: String,
    }

    #[test]
    fn a_wrong_type_deep_in_the_body_is_named_by_pointer() {
        let p = parse_json::<Body>(br#"{"code":"1","areas":[{"kind":5}]}"#).unwrap_err();
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].pointer, "/areas/0/kind");
    }

    #[test]
    fn text_after_the_document_is_a_bad_request() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Named {
            name: String,
        }
        let p = parse_json::<Named>(br#"{"name":"a"} }x"#).unwrap_err();
        assert_eq!(p.status, 400);
        let p = parse_json::<Named>(br#"{"name":"a"}{"name":"b"}"#).unwrap_err();
        assert_eq!(p.status, 400);
        assert!(parse_json::<Named>(b"{\"name\":\"a\"} \n\t").is_ok());
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let p = parse_json::<Body>(b"{").unwrap_err();
        assert_eq!(p.status, 400);
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let p = parse_json::<Body>(br#"{"code":"1","areas":[],"admin":true}"#).unwrap_err();
        assert_eq!(p.status, 422);
        assert!(p.detail.unwrap().contains("admin"));
    }
}
