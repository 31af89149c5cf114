//! The constraints the OpenAPI document gives each query parameter (length, pattern,
//! integer range), read from the same `IntoParams` description that writes the document and
//! checked before the parameters are parsed: what the document promises to refuse is
//! refused, with 422 naming the parameter, and nothing it forbids reaches a service.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use problem::Problem;
use utoipa::IntoParams;

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

static RULES: LazyLock<Mutex<HashMap<TypeId, Arc<Vec<Rule>>>>> = LazyLock::new(Default::default);

/// Checks every query pair against `T`'s documented constraints. A value of the wrong type
/// (`limit=abc`) passes here and is refused by parsing, with 400.
pub fn check<T: IntoParams + 'static>(pairs: &[(String, String)]) -> Result<(), Problem> {
    let rules = rules_of::<T>();
    if let Some(missing) = rules
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
        // No parameter of this API holds a control character, and PostgreSQL cannot hold a
        // NUL in text at all.
        if value.chars().any(char::is_control) {
            return Err(Problem::invalid_field(
                pointer,
                "must not contain control characters",
            ));
        }
        let Some(rule) = rules.iter().find(|r| &r.name == name) else {
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
        if rule.max_length.is_some_and(|max| length > max) {
            let max = rule.max_length.unwrap_or_default();
            return Err(Problem::invalid_field(
                pointer,
                format!("at most {max} characters"),
            ));
        }
        if rule.min_length.is_some_and(|min| length < min) {
            let min = rule.min_length.unwrap_or_default();
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

fn rules_of<T: IntoParams + 'static>() -> Arc<Vec<Rule>> {
    let mut cache = RULES.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(
        cache
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(read_rules::<T>())),
    )
}

/// The rules, from the parameters as the document writes them.
fn read_rules<T: IntoParams>() -> Vec<Rule> {
    T::into_params(|| None)
        .into_iter()
        .filter_map(|parameter| serde_json::to_value(parameter).ok())
        .map(|parameter| {
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
                // A pattern the regex crate cannot read is a defect in this crate's own
                // attributes; the unit test below reads every one.
                pattern: schema["pattern"]
                    .as_str()
                    .and_then(|p| regex::Regex::new(p).ok()),
            }
        })
        .collect()
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
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut pairs = pairs;
        if !pairs.iter().any(|(k, _)| k == "seq") {
            pairs.push(("seq".into(), "0".into()));
        }
        check::<Example>(&pairs)
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
        let missing = check::<Example>(&[]).unwrap_err();
        assert_eq!(
            serde_json::to_value(missing).unwrap()["errors"][0]["pointer"],
            "/seq"
        );
        // Unknown parameters are left to parsing too.
        assert_eq!(field_at_fault(&[("colour", "red")]), None);
    }
}

#[cfg(test)]
mod every_route {
    use std::ops::Not;

    /// Every pattern the document holds (parameters and fields) reads as a regex, so the
    /// gateway can check it and a client can trust it.
    #[test]
    fn every_documented_pattern_reads_as_a_regex() {
        fn patterns<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
            match value {
                serde_json::Value::Object(fields) => {
                    for (key, item) in fields {
                        match (key.as_str(), item) {
                            ("pattern", serde_json::Value::String(p)) => found.push(p),
                            _ => patterns(item, found),
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|i| patterns(i, found)),
                _ => {}
            }
        }
        let (_, doc) = crate::app::api();
        let doc = serde_json::to_value(doc).unwrap();
        let mut found = Vec::new();
        patterns(&doc, &mut found);
        for pattern in &found {
            assert!(regex::Regex::new(pattern).is_ok(), "{pattern}");
        }
        assert!(found.len() > 50, "only {} patterns found", found.len());
        let plain = regex::Regex::new(crate::app::PLAIN_TEXT_LINES).unwrap();
        assert!(plain.is_match("二行の\nメモ\t") && !plain.is_match("a\u{0}b"));
    }

    /// Request bodies say they hold no control characters; answers say nothing of it.
    #[test]
    fn request_bodies_and_only_they_carry_the_plain_text_pattern() {
        let (_, doc) = crate::app::api();
        let doc = serde_json::to_value(doc).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["RoleChange"]["properties"]["reason"]["pattern"],
            crate::app::PLAIN_TEXT_LINES
        );
        assert!(schemas["AuditRecord"]["properties"]["route"]["pattern"].is_null());
        assert!(schemas["Problem"].to_string().contains("pattern").not());
    }

    fn pattern(doc: &serde_json::Value, path: &str, name: &str) -> regex::Regex {
        let parameters = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let parameter = parameters.iter().find(|p| p["name"] == name).unwrap();
        regex::Regex::new(parameter["schema"]["pattern"].as_str().unwrap()).unwrap()
    }

    /// The lists the document spells out name exactly the kinds and categories there are.
    #[test]
    fn the_kinds_and_categories_a_query_may_name_are_the_real_ones() {
        let (_, doc) = crate::app::api();
        let doc = serde_json::to_value(doc).unwrap();
        let kinds = pattern(&doc, "/api/v1/audit/records", "kind");
        for kind in audit_api::RecordKind::ALL {
            assert!(kinds.is_match(kind.as_str()), "{}", kind.as_str());
        }
        assert!(kinds.is_match("sign_in_failed,permission_denied"));
        assert!(!kinds.is_match("_") && !kinds.is_match("sign_in,") && !kinds.is_match("gossip"));
        let categories = pattern(&doc, "/api/v1/patients/{patient_id}/record", "categories");
        for category in consent::DataCategory::ALL {
            assert!(
                categories.is_match(category.as_str()),
                "{}",
                category.as_str()
            );
        }
        assert!(categories.is_match("care_records,documents"));
        assert!(!categories.is_match("care_records,") && !categories.is_match("diary"));
    }
}
