//! Japanese registration data, checked and normalised the same way by every service.
//!
//! What the secretariat types into a form — a municipality's code, a prefecture, a name, its
//! reading in kana — arrives in many shapes: full-width digits, half-width katakana, hiragana,
//! ideographic spaces, stray blanks. This crate turns such input into one canonical form, or
//! says precisely why it cannot:
//!
//! - [`LocalGovernmentCode`]: a 全国地方公共団体コード (six digits, check digit verified) and the
//!   [`Prefecture`] it belongs to;
//! - [`normalize_kana`]: a reading (フリガナ) as full-width katakana;
//! - [`normalize_name`]: a display name in NFKC with tidy spacing;
//! - [`gojuon_key`]: a string key that sorts readings in 五十音 order;
//! - [`search`]: free text folded and cut into bigrams, as a Japanese search finds words.
//!
//! Promises: every function is pure (no I/O, no clock, no global state) and total — any input
//! yields a value or a typed error, never a panic. A value of a type from this crate is always
//! valid, including one deserialised with serde. Normalising an already normalised value
//! returns it unchanged.

#![deny(missing_docs)]

mod code;
mod kana;
mod name;
mod prefecture;
pub mod search;

pub use code::{CodeError, LocalGovernmentCode};
pub use kana::{KanaError, gojuon_key, normalize_kana};
pub use name::{MAX_NAME_CHARS, NameError, normalize_name};
pub use prefecture::Prefecture;

/// Replaces every run of whitespace (including U+3000 IDEOGRAPHIC SPACE, tabs and newlines) by
/// one ASCII space and drops leading and trailing whitespace.
fn collapse_whitespace(chars: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    let mut pending_space = false;
    for c in chars {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::collapse_whitespace;

    #[test]
    fn runs_of_any_whitespace_become_one_space_and_the_ends_are_trimmed() {
        let collapsed = collapse_whitespace(" \u{3000}山田\t\n\u{3000} 太郎  ".chars());
        assert_eq!(collapsed, "山田 太郎");
    }

    #[test]
    fn only_whitespace_collapses_to_nothing() {
        assert_eq!(collapse_whitespace(" \u{3000}\t ".chars()), "");
    }
}
