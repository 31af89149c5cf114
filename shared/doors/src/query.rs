//! Query parameters held to what the OpenAPI document says of them (length, pattern, integer
//! range, required), read from the same `IntoParams` description that writes the document and
//! checked before the parameters are parsed: what the document promises to refuse is refused,
//! with 422 naming the parameter, and nothing it forbids reaches a service.

use problem::Problem;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use utoipa::openapi::path::Parameter;

/// One parameter's constraints.
#[derive(Debug, Default)]
struct Rule {
    name: String,
    required: bool,
    /// Inclusive bounds of an integer parameter (its format's range narrowed by
    /// `minimum`/`maximum`).
    integer: Option<(i128, i128)>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<regex::Regex>,
}

/// The constraints of a set of query parameters, read once (patterns compiled) and checked
/// on every request.
#[derive(Debug, Default)]
pub struct Rules(Vec<Rule>);

impl Rules {
    /// The rules `T`'s parameters document.
    pub fn of<T: IntoParams>() -> Self {
        Self::read(&T::into_params(|| None))
    }

    /// The rules, from the parameters as the document writes them.
    pub fn read(parameters: &[Parameter]) -> Self {
        Self(
            parameters
                .iter()
                .filter_map(|parameter| serde_json::to_value(parameter).ok())
                .map(|parameter| rule(&parameter))
                .collect(),
        )
    }

    /// Checks every query pair against the documented constraints. A value of the wrong type
    /// (`limit=abc`) passes here and is refused by parsing, with 400.
    pub fn check(&self, pairs: &[(String, String)]) -> Result<(), Problem> {
        if let Some(missing) = self
            .0
            .iter()
            .find(|r| r.required && !pairs.iter().any(|(name, _)| name == &r.name))
        {
            return Err(Problem::invalid_field(
                format!("/{}", missing.name),
                "is required",
            ));
        }
        for (name, value) in pairs {
            let pointer = format!("/{}", name.replace('~', "~0").replace('/', "~1"));
            // No parameter of this API holds a control character, and PostgreSQL cannot hold
            // a NUL in text at all.
            if value.chars().any(char::is_control) {
                return Err(Problem::invalid_field(
                    pointer,
                    "must not contain control characters",
                ));
            }
            let Some(rule) = self.0.iter().find(|r| &r.name == name) else {
                continue;
            };
            if let Some((low, high)) = rule.integer {
                match value.parse::<i128>() {
                    Ok(n) if n < low || n > high => {
                        return Err(Problem::invalid_field(
                            pointer,
                            format!("must be from {low} to {high}"),
                        ));
                    }
                    _ => continue,
                }
            }
            let length = value.chars().count();
            if let Some(max) = rule.max_length.filter(|&max| length > max) {
                return Err(Problem::invalid_field(
                    pointer,
                    format!("at most {max} characters"),
                ));
            }
            if let Some(min) = rule.min_length.filter(|&min| length < min) {
                return Err(Problem::invalid_field(
                    pointer,
                    format!("at least {min} characters"),
                ));
            }
            if let Some(pattern) = &rule.pattern
                && !pattern.is_match(value)
            {
                return Err(Problem::invalid_field(
                    pointer,
                    format!("must match {}", pattern.as_str()),
                ));
            }
        }
        Ok(())
    }

    /// The query string, checked, then parsed as `T`; a parameter `T` does not know, or one
    /// of the wrong type, is 400 naming it.
    pub fn parse<T: DeserializeOwned>(&self, query: &str) -> Result<T, Problem> {
        self.check(&pairs(query))?;
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let detail = e.into_inner().to_string();
            let pointer = if field == "." {
                String::from("/")
            } else {
                format!("/{field}")
            };
            Problem::new(400, "invalid-query", "A query parameter is invalid")
                .with_detail(detail.clone())
                .with_field(pointer, detail)
        })
    }
}

/// The decoded (name, value) pairs of a query string.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn rule(parameter: &serde_json::Value) -> Rule {
    let schema = &parameter["schema"];
    let number = |key: &str| schema[key].as_f64();
    let size = |key: &str| schema[key].as_u64().map(|n| n as usize);
    let is = |kind: &str| match &schema["type"] {
        serde_json::Value::String(t) => t == kind,
        serde_json::Value::Array(types) => types.iter().any(|t| t == kind),
        _ => false,
    };
    let integer = is("integer").then(|| {
        let (mut low, mut high) = match schema["format"].as_str() {
            Some("int32") => (i32::MIN as i128, i32::MAX as i128),
            Some("int64") => (i64::MIN as i128, i64::MAX as i128),
            _ => (i128::MIN, i128::MAX),
        };
        if let Some(min) = number("minimum") {
            low = low.max(min.ceil() as i128);
        }
        if let Some(max) = number("maximum") {
            high = high.min(max.floor() as i128);
        }
        (low, high)
    });
    Rule {
        name: parameter["name"].as_str().unwrap_or_default().to_owned(),
        required: parameter["required"].as_bool().unwrap_or(false),
        integer,
        min_length: size("minLength"),
        max_length: size("maxLength"),
        // A pattern the regex crate cannot read is a defect in a contract's own attributes;
        // the gateway's tests read every pattern of the document.
        pattern: schema["pattern"]
            .as_str()
            .and_then(|p| regex::Regex::new(p).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[allow(dead_code)]
    struct Example {
        #[param(max_length = 8)]
        member_id: Option<String>,
        #[param(pattern = "^(json|csv)$")]
        format: Option<String>,
        #[param(minimum = 0)]
        after: Option<u64>,
        #[param(minimum = 1, maximum = 1000)]
        limit: Option<u32>,
        #[param(required = true)]
        seq: Option<u64>,
    }

    fn field_at_fault(pairs: &[(&str, &str)]) -> Option<String> {
        let mut pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !pairs.iter().any(|(k, _)| k == "seq") {
            pairs.push(("seq".into(), "0".into()));
        }
        Rules::of::<Example>()
            .check(&pairs)
            .err()
            .map(|p| serde_json::to_value(p).unwrap()["errors"][0]["pointer"].to_string())
    }

    #[test]
    fn what_the_document_forbids_is_refused_naming_the_parameter() {
        assert_eq!(
            field_at_fault(&[("member_id", "12345678"), ("format", "csv")]),
            None
        );
        assert_eq!(
            field_at_fault(&[("after", "9223372036854775807"), ("limit", "1000")]),
            None
        );
        assert_eq!(
            field_at_fault(&[("member_id", "123456789")]).as_deref(),
            Some("\"/member_id\"")
        );
        assert_eq!(
            field_at_fault(&[("member_id", "a\u{0}b")]).as_deref(),
            Some("\"/member_id\"")
        );
        assert_eq!(
            field_at_fault(&[("format", "xml")]).as_deref(),
            Some("\"/format\"")
        );
        assert_eq!(
            field_at_fault(&[("after", "-1")]).as_deref(),
            Some("\"/after\"")
        );
        // Beyond int64, as the document's format says, though a u64 would hold it.
        assert_eq!(
            field_at_fault(&[("after", "9223372036854775808")]).as_deref(),
            Some("\"/after\"")
        );
        assert_eq!(
            field_at_fault(&[("limit", "0")]).as_deref(),
            Some("\"/limit\"")
        );
        assert_eq!(
            field_at_fault(&[("limit", "1001")]).as_deref(),
            Some("\"/limit\"")
        );
        // Not a number at all: left to parsing (400).
        assert_eq!(field_at_fault(&[("limit", "abc")]), None);
        // A required one missing.
        let missing = Rules::of::<Example>().check(&[]).unwrap_err();
        assert_eq!(
            serde_json::to_value(missing).unwrap()["errors"][0]["pointer"],
            "/seq"
        );
        // Unknown parameters are left to parsing too.
        assert_eq!(field_at_fault(&[("colour", "red")]), None);
    }

    #[derive(Debug, Deserialize, IntoParams)]
    #[serde(deny_unknown_fields)]
    #[into_params(parameter_in = Query)]
    #[allow(dead_code)]
    struct Page {
        #[param(minimum = 1, maximum = 200)]
        limit: Option<u32>,
    }

    #[test]
    fn parsing_refuses_an_unknown_parameter_and_a_wrong_type_with_400_naming_it() {
        let rules = Rules::of::<Page>();
        assert_eq!(rules.parse::<Page>("limit=20").unwrap().limit, Some(20));
        for (query, pointer) in [("colour=red", "/colour"), ("limit=abc", "/limit")] {
            let problem = serde_json::to_value(rules.parse::<Page>(query).unwrap_err()).unwrap();
            assert_eq!(problem["status"], 400, "{query}");
            assert_eq!(
                problem["errors"][0]["pointer"], pointer,
                "{query}: {problem}"
            );
        }
        let problem = serde_json::to_value(rules.parse::<Page>("limit=201").unwrap_err()).unwrap();
        assert_eq!(problem["status"], 422);
    }
}
