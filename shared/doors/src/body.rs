//! JSON bodies: refused with the field at fault, never half read.

use problem::Problem;
use serde::de::DeserializeOwned;

/// Reads a JSON body as `T`: no text in it may hold a control character other than tab and
/// line breaks (422 naming where), and it must match `T` exactly (400 for malformed JSON, 422
/// naming the field for a wrong, missing or unknown one).
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(pointer) = control_character_at(&value, String::new())
    {
        let detail = "must not contain control characters (other than tab and line breaks)";
        return Err(
            Problem::new(422, "invalid-body", "The body does not match the schema")
                .with_detail(format!("{pointer} {detail}"))
                .with_field(pointer, detail),
        );
    }
    problem::parse_json(bytes)
}

/// Where the first text (a string or a key) holding a control character other than tab,
/// line feed and carriage return is, as a JSON pointer. No field of this API carries one,
/// and PostgreSQL cannot hold a NUL in text: accepted, such an event could never reach the
/// read models or the audit log.
pub fn control_character_at(value: &serde_json::Value, at: String) -> Option<String> {
    let bad = |text: &str| {
        text.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    };
    let escape = |key: &str| key.replace('~', "~0").replace('/', "~1");
    match value {
        serde_json::Value::String(text) => bad(text).then_some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| control_character_at(item, format!("{at}/{i}"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = format!("{at}/{}", escape(key));
            if bad(key) {
                Some(here)
            } else {
                control_character_at(item, here)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_control_character_is_found_at_its_field() {
        let at = |v| control_character_at(&v, String::new());
        assert_eq!(at(json!({"note": "two\nlines\tand a tab\r"})), None);
        assert_eq!(
            at(json!({"roles": ["nurse"], "reason": "a\u{0}b"})),
            Some("/reason".into())
        );
        assert_eq!(
            at(json!({"contacts": [{"name": "ok"}, {"name": "\u{1b}[2J"}]})),
            Some("/contacts/1/name".into())
        );
        assert_eq!(at(json!({"a/b\u{7}": 1})), Some("/a~1b\u{7}".into()));
        assert_eq!(at(json!("\u{85}")), Some(String::new()));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Note {
        text: String,
    }

    #[test]
    fn a_body_is_refused_naming_the_field_at_fault() {
        let pointer = |bytes: &[u8]| {
            let problem = parse_body::<Note>(bytes).unwrap_err();
            let problem = serde_json::to_value(problem).unwrap();
            (
                problem["status"].clone(),
                problem["errors"][0]["pointer"].clone(),
            )
        };
        assert!(parse_body::<Note>(br#"{"text":"two\nlines"}"#).is_ok());
        assert_eq!(
            pointer(br#"{"text":"a\u0000b"}"#),
            (json!(422), json!("/text"))
        );
        assert_eq!(
            pointer(br#"{"text":"a","position":"x"}"#),
            (json!(422), json!("/position"))
        );
        assert_eq!(pointer(b"{").0, json!(400));
    }
}
