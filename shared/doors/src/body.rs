//! JSON bodies: refused with the field at fault, never half read.

use problem::Problem;
use serde::de::DeserializeOwned;

/// Reads a JSON body as `T`: one JSON document and nothing after it (400), no text in it
/// may hold a control character other than tab and line breaks (422 naming where), and it
/// must match `T` exactly (400 for malformed JSON, 422 naming the field for a wrong, missing
/// or unknown one). A number with a zero fraction (`252732.0`) is the integer it equals:
/// JSON Schema calls it an integer, so the document's `integer` must accept it.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let Ok(mut value) = problem::parse_json::<serde_json::Value>(bytes) else {
        // Malformed: the typed reader names what is wrong as precisely as it can.
        return problem::parse_json(bytes);
    };
    if let Some(pointer) = control_character_at(&value, String::new()) {
        let detail = "must not contain control characters (other than tab and line breaks)";
        return Err(
            Problem::new(422, "invalid-body", "The body does not match the schema")
                .with_detail(format!("{pointer} {detail}"))
                .with_field(pointer, detail),
        );
    }
    integral_floats_as_integers(&mut value);
    problem::parse_value(value)
}

/// `252732.0` → `252732`, wherever it is: an integer field reads it, a float field reads
/// either.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                // Exact below 2^53, so the cast loses nothing.
                #[allow(clippy::cast_possible_truncation)]
                let i = f as i64;
                *value = serde_json::Value::from(i);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(fields) => {
            fields.values_mut().for_each(integral_floats_as_integers)
        }
        _ => {}
    }
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
        assert_eq!(pointer(br#"{"text":"a"} }x"#).0, json!(400));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sized {
        days: u32,
        ratio: f64,
    }

    #[test]
    fn an_integer_written_with_a_zero_fraction_is_that_integer() {
        let read = parse_body::<Sized>(br#"{"days":30.0,"ratio":2}"#).unwrap();
        assert_eq!((read.days, read.ratio), (30, 2.0));
        let problem = parse_body::<Sized>(br#"{"days":30.5,"ratio":2}"#).unwrap_err();
        let problem = serde_json::to_value(problem).unwrap();
        assert_eq!(problem["errors"][0]["pointer"], "/days");
    }
}
