//! RFC 8785 (JCS) canonical JSON: the bytes every record is hashed as.

use serde_json::Value;

/// A value JCS cannot write exactly.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CanonicalError {
    #[error("the number {0} is outside what an IEEE 754 double holds exactly")]
    NumberOutOfRange(String),
}

/// The canonical bytes of `value`: members sorted by their names' UTF-16 code units, no
/// whitespace, minimal string escapes, numbers as ECMAScript prints them.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(number(n)?.as_bytes()),
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(name, out);
                out.push(b':');
                write(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

const EXACT: u64 = 1 << 53;

fn number(n: &serde_json::Number) -> Result<String, CanonicalError> {
    if let Some(u) = n.as_u64() {
        return if u <= EXACT {
            Ok(u.to_string())
        } else {
            Err(CanonicalError::NumberOutOfRange(u.to_string()))
        };
    }
    if let Some(i) = n.as_i64() {
        return if i.unsigned_abs() <= EXACT {
            Ok(i.to_string())
        } else {
            Err(CanonicalError::NumberOutOfRange(i.to_string()))
        };
    }
    let f = n
        .as_f64()
        .ok_or_else(|| CanonicalError::NumberOutOfRange(n.to_string()))?;
    Ok(ecmascript(f))
}

/// ECMAScript Number::toString for a finite double.
fn ecmascript(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    if f < 0.0 {
        return format!("-{}", ecmascript(-f));
    }
    // Shortest round-trip digits and exponent, as `{:e}` gives them: d.ddddde±x.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp + 1;
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        if k == 1 {
            format!("{digits}e{sign}{}", e.abs())
        } else {
            format!("{}.{}e{sign}{}", &digits[..1], &digits[1..], e.abs())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(v: Value) -> String {
        String::from_utf8(canonical_json(&v).unwrap()).unwrap()
    }

    #[test]
    fn members_sort_by_utf16_code_units() {
        // RFC 8785 §3.2.3.
        let v: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let names: Vec<String> = {
            let t = text(v);
            let back: serde_json::Map<String, Value> = serde_json::from_str(&t).unwrap();
            let _ = back;
            let mut names = Vec::new();
            let mut rest = t.as_str();
            while let Some(i) = rest.find("\":\"") {
                let start = rest[..i].rfind(['{', ',']).unwrap() + 2;
                names.push(rest[start..i].to_owned());
                rest = &rest[i + 3..];
            }
            names
        };
        assert_eq!(
            names,
            [
                "\\r",
                "1",
                "\u{80}",
                "\u{f6}",
                "\u{20ac}",
                "\u{1f600}",
                "\u{fb33}"
            ]
        );
    }

    #[test]
    fn numbers_print_as_ecmascript_does() {
        for (n, s) in [
            (json!(0), "0"),
            (json!(-0.0), "0"),
            (json!(4.5), "4.5"),
            (json!(0.002), "0.002"),
            (json!(1e30), "1e+30"),
            (json!(1e-7), "1e-7"),
            (json!(1e21), "1e+21"),
            (json!(1e20), "100000000000000000000"),
            (json!(333333333.3333333), "333333333.3333333"),
            (json!(9007199254740991u64), "9007199254740991"),
            (json!(-5), "-5"),
        ] {
            assert_eq!(text(n.clone()), s, "{n}");
        }
        assert!(canonical_json(&json!(9007199254740993u64)).is_err());
    }

    #[test]
    fn strings_are_escaped_minimally_and_nothing_else_moves() {
        assert_eq!(
            text(json!("a\"b\\c\n\u{1f}é/")),
            "\"a\\\"b\\\\c\\n\\u001fé/\""
        );
        let v = json!({"b": [1, {"d": true, "c": null}], "a": "x"});
        let once = text(v);
        assert_eq!(once, r#"{"a":"x","b":[1,{"c":null,"d":true}]}"#);
        let twice = text(serde_json::from_str(&once).unwrap());
        assert_eq!(once, twice);
    }
}
