//! RFC 8785 (JCS) canonical JSON: the bytes every record is hashed as.
//!
//! One value has one byte form, whoever writes it: members sorted, no whitespace, strings
//! and numbers written as ECMAScript's `JSON.stringify` writes them. A verifier in another
//! language re-canonicalises a record and gets the bytes the log hashed.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

/// A value JCS cannot write exactly.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CanonicalError {
    /// An integer beyond ±2^53: JCS numbers are IEEE 754 doubles, and this one would be
    /// rounded, so two different records could hash alike.
    #[error("the number {0} is outside what an IEEE 754 double holds exactly")]
    NumberOutOfRange(String),
}

/// The RFC 8785 canonical bytes of `value`: members sorted by their names' UTF-16 code
/// units, no whitespace, minimal string escapes, numbers as ECMAScript prints them.
///
/// Integers (as serde_json holds them) beyond ±2^53 are refused, even those a double happens
/// to hold: a JCS number is a double, and an id or counter that silently rounded would let
/// two records hash alike. One consequence: a *double* of that size (a `f64`, written as
/// integer digits, `1152921504606847000`) does not canonicalise again once read back.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_value(value, &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(number(n)?.as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, out)?,
    }
    Ok(())
}

fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    // UTF-16, not UTF-8 or `str` order: RFC 8785 §3.2.3 sorts as JavaScript compares
    // strings, and the two orders differ above U+FFFF (a surrogate pair sorts below U+E000).
    members.sort_by(|a, b| utf16_order(a.0, b.0));
    out.push(b'{');
    for (i, (name, item)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(name, out);
        out.push(b':');
        write_value(item, out)?;
    }
    out.push(b'}');
    Ok(())
}

fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// RFC 8785 §3.2.2.2: the two-character escapes where JSON has them, `\u00xx` for the other
/// controls, everything else (including `/`, DEL and non-ASCII) as its UTF-8 bytes.
fn write_string(s: &str, out: &mut Vec<u8>) {
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
            c if c < '\u{20}' => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out.push(b'"');
}

/// The largest magnitude up to which every integer is a double: 2^53.
const EXACT: u64 = 1 << 53;

fn number(n: &Number) -> Result<String, CanonicalError> {
    // serde_json keeps integers as integers; past 2^53 a double would round them, so they
    // are refused rather than silently changed.
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
    match n.as_f64() {
        Some(f) if f.is_finite() => Ok(ecmascript(f)),
        _ => Err(CanonicalError::NumberOutOfRange(n.to_string())),
    }
}

/// ECMAScript `Number.prototype.toString` of a finite double (ECMA-262 §6.1.6.1.20), which
/// RFC 8785 §3.2.2.3 adopts.
fn ecmascript(f: f64) -> String {
    if f == 0.0 {
        // Both zeros: JavaScript prints -0 as "0".
        return "0".into();
    }
    if f < 0.0 {
        return format!("-{}", ecmascript(-f));
    }
    let (digits, exponent) = shortest_digits(f);
    // ECMAScript's names: k digits, the value is 0.digits × 10^n.
    let k = digits.len() as i32;
    let n = exponent + 1;
    if k <= n && n <= 21 {
        // An integer below 10^21: all digits, padded with zeros.
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let sign = if n - 1 < 0 { '-' } else { '+' };
        let e = (n - 1).abs();
        match digits.split_at(1) {
            (first, "") => format!("{first}e{sign}{e}"),
            (first, rest) => format!("{first}.{rest}e{sign}{e}"),
        }
    }
}

/// The fewest decimal digits that read back as `f` (a positive finite double) and the
/// exponent of the first: `("15", 2)` for 150. Among equally short candidates, the one
/// closest to `f`, and on a tie the even one, as ECMAScript asks.
fn shortest_digits(f: f64) -> (String, i32) {
    // `{:e}` gives the shortest digits, but breaks a tie between two of them upwards:
    // 1424953923781206.25 (exactly a double) comes out as …206.3 where ECMAScript (RFC 8785
    // Appendix B) has …206.2.
    let shortest = format!("{f:e}");
    let length = scientific(&shortest).0.len();
    // `{:.Ne}` rounds the exact value to that many digits, ties to even: the closest
    // candidate of that length, if it reads back as `f` at all.
    let closest = format!("{f:.*e}", length - 1);
    let chosen = if closest.parse::<f64>() == Ok(f) {
        closest
    } else {
        shortest
    };
    scientific(&chosen)
}

/// Splits Rust's `d.ddde±x` into the digits (trailing zeros dropped) and the exponent.
fn scientific(text: &str) -> (String, i32) {
    let (mantissa, exponent) = text
        .split_once('e')
        .expect("`{:e}` always writes an exponent");
    let exponent = exponent.parse().expect("`{:e}` writes an integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits.trim_end_matches('0').to_owned(), exponent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn canonical(v: &Value) -> String {
        String::from_utf8(canonical_json(v).unwrap()).expect("canonical JSON is UTF-8")
    }

    fn canonical_of_text(text: &str) -> String {
        canonical(&serde_json::from_str(text).unwrap())
    }

    fn double(bits: u64) -> Value {
        Value::Number(Number::from_f64(f64::from_bits(bits)).unwrap())
    }

    #[test]
    fn the_rfc_8785_example_comes_out_byte_for_byte() {
        // RFC 8785 §3.2.2: whitespace goes, members sort, numbers and strings normalise.
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        // The workspace turns on serde_json's `float_roundtrip`: without it, the 17-digit
        // number is read one unit in the last place off (as …325).
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            canonical(&value),
            concat!(
                r#"{"literals":[null,true,false],"#,
                r#""numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"#,
                "\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
            )
        );
    }

    #[test]
    fn members_sort_by_their_names_utf16_code_units() {
        // RFC 8785 §3.2.3: the emoji (a surrogate pair, 0xD83D…) sorts before U+FB33,
        // although its UTF-8 and code point order put it last.
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        assert_eq!(
            canonical_of_text(input),
            concat!(
                "{",
                "\"\\r\":\"Carriage Return\",",
                "\"1\":\"One\",",
                "\"\u{80}\":\"Control\",",
                "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",",
                "\"\u{20ac}\":\"Euro Sign\",",
                "\"\u{1f600}\":\"Emoji: Grinning Face\",",
                "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"",
                "}"
            )
        );
    }

    #[test]
    fn strings_escape_only_quotes_backslashes_and_controls() {
        assert_eq!(canonical(&json!("a\"b\\c")), r#""a\"b\\c""#);
        assert_eq!(
            canonical(&json!("\u{8}\u{c}\n\r\t")),
            r#""\b\f\n\r\t""#,
            "the two-character escapes"
        );
        assert_eq!(
            canonical(&json!("\u{0}\u{1}\u{1f}\u{b}")),
            r#""\u0000\u0001\u001f\u000b""#,
            "other controls as \\u00xx in lowercase"
        );
        assert_eq!(
            canonical(&json!("/\u{7f}é\u{2028}日本\u{1f600}")),
            "\"/\u{7f}é\u{2028}日本\u{1f600}\"",
            "the solidus, DEL and non-ASCII as they are"
        );
    }

    #[test]
    fn every_control_character_is_escaped_as_javascript_does() {
        let named = [
            (8, "\\b"),
            (9, "\\t"),
            (10, "\\n"),
            (12, "\\f"),
            (13, "\\r"),
        ];
        for c in 0u32..0x20 {
            let expected = match named.iter().find(|(n, _)| *n == c) {
                Some((_, escape)) => escape.to_string(),
                None => format!("\\u{c:04x}"),
            };
            let s = char::from_u32(c).unwrap().to_string();
            assert_eq!(canonical(&json!(s)), format!("\"{expected}\""), "U+{c:04X}");
        }
    }

    #[test]
    fn integers_print_as_integers_up_to_two_to_the_53() {
        for (n, text) in [
            (json!(0), "0"),
            (json!(-5), "-5"),
            (json!(1_000_000), "1000000"),
            (json!(9007199254740991u64), "9007199254740991"),
            (json!(9007199254740992u64), "9007199254740992"),
            (json!(-9007199254740992i64), "-9007199254740992"),
        ] {
            assert_eq!(canonical(&n), text, "{n}");
        }
    }

    #[test]
    fn integers_a_double_would_round_are_refused() {
        for n in [
            json!(9007199254740993u64),
            json!(u64::MAX),
            json!(-9007199254740993i64),
            json!(i64::MIN),
        ] {
            assert_eq!(
                canonical_json(&n),
                Err(CanonicalError::NumberOutOfRange(n.to_string()))
            );
        }
        assert!(canonical_json(&json!({"a": [1, {"b": u64::MAX}]})).is_err());
    }

    #[test]
    fn doubles_print_as_ecmascript_prints_them() {
        for (n, text) in [
            (json!(-0.0), "0"),
            (json!(1.0), "1"),
            (json!(4.5), "4.5"),
            (json!(-4.5), "-4.5"),
            (json!(0.002), "0.002"),
            (json!(0.1), "0.1"),
            (json!(0.000001), "0.000001"),
            (json!(1e-7), "1e-7"),
            (json!(1.5e-7), "1.5e-7"),
            (json!(1e20), "100000000000000000000"),
            (json!(1e21), "1e+21"),
            (json!(1.5e21), "1.5e+21"),
            (json!(1e30), "1e+30"),
            (json!(123456789.125), "123456789.125"),
            (json!(9007199254740991.0), "9007199254740991"),
        ] {
            assert_eq!(canonical(&n), text, "{n}");
        }
    }

    #[test]
    fn a_double_beyond_two_to_the_53_is_written_but_does_not_read_back() {
        // 2^60 is a double, written as JavaScript writes it; read back, those digits are an
        // integer a double would round (…976 ≠ …000), so they are refused.
        let written = canonical(&json!(1152921504606846976.0));
        assert_eq!(written, "1152921504606847000");
        assert_eq!(
            canonical_json(&serde_json::from_str(&written).unwrap()),
            Err(CanonicalError::NumberOutOfRange(written))
        );
    }

    #[test]
    fn the_rfc_8785_appendix_b_doubles_print_as_listed() {
        for (bits, text) in [
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ] {
            assert_eq!(canonical(&double(bits)), text, "{bits:#018x}");
        }
    }

    #[test]
    fn nested_arrays_and_objects_keep_array_order_and_sort_every_object() {
        let v = json!({
            "b": [3, 1, {"z": null, "y": [true, false]}, []],
            "a": {"d": {}, "c": "x"},
            "": 0
        });
        assert_eq!(
            canonical(&v),
            r#"{"":0,"a":{"c":"x","d":{}},"b":[3,1,{"y":[true,false],"z":null},[]]}"#
        );
    }

    #[test]
    fn canonical_json_of_canonical_json_is_the_same_bytes() {
        let v = json!({"b": [1, 2.5, {"d": true, "c": null}], "a": "x\u{1}\u{e9}", "€": 1e-9});
        let once = canonical(&v);
        assert_eq!(canonical_of_text(&once), once);
    }

    fn json_values() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(EXACT as i64)..=EXACT as i64).prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON has no NaN or infinities", |f| f.is_finite())
                .prop_filter("not an integer beyond 2^53 once written", |f| {
                    // ECMAScript writes those doubles as integer digits, which serde_json
                    // then reads as an integer, refused (see
                    // `a_double_beyond_two_to_the_53_is_written_but_does_not_read_back`).
                    !(EXACT as f64 <= f.abs() && f.abs() < 1e21)
                })
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_reads_back_from_its_canonical_bytes_and_canonicalises_alike(
            v in json_values()
        ) {
            let once = canonical_json(&v).unwrap();
            let back: Value = serde_json::from_slice(&once).unwrap();
            prop_assert_eq!(canonical_json(&back).unwrap(), once);
        }

        #[test]
        fn a_double_reads_back_exactly_from_its_canonical_form(f in any::<f64>()) {
            prop_assume!(f.is_finite());
            let text = canonical(&Value::from(f));
            // -0 is written 0, the one double JCS does not keep.
            prop_assert_eq!(text.parse::<f64>().unwrap(), if f == 0.0 { 0.0 } else { f });
        }
    }
}
