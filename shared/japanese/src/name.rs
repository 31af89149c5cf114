use unicode_normalization::UnicodeNormalization;

use crate::collapse_whitespace;

/// The longest display name [`normalize_name`] accepts, in characters (Unicode scalar values)
/// after normalisation.
pub const MAX_NAME_CHARS: usize = 200;

/// Why a text is not a usable display name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but whitespace was given.
    #[error("name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_CHARS`].
    #[error("name has {found} characters, at most {max} are allowed")]
    TooLong {
        /// The limit, [`MAX_NAME_CHARS`].
        max: usize,
        /// The length after normalisation.
        found: usize,
    },
    /// A control character, or a formatting control that reorders text on screen.
    #[error("name contains control character {}", .character.escape_unicode())]
    ControlCharacter {
        /// The first offending character.
        character: char,
    },
}

/// Normalises a display name — of a person, an organisation, a site — written in kanji, kana,
/// Latin letters or a mix.
///
/// NFKC first (full-width ＡＢＣ becomes ABC, half-width ｶﾅ becomes カナ, ㈱ becomes (株)),
/// then every run of whitespace — spaces, U+3000, tabs, line breaks — becomes one ASCII
/// space, and the ends are trimmed. The result must not be empty, must hold no control
/// character (Unicode category Cc) and no bidirectional formatting control (U+061C, U+200E,
/// U+200F, U+202A–U+202E, U+2066–U+2069, which can make a name display as something else),
/// and may have at most [`MAX_NAME_CHARS`] characters.
pub fn normalize_name(input: &str) -> Result<String, NameError> {
    let name = collapse_whitespace(input.nfkc());
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(character) = name.chars().find(|&c| is_control(c)) {
        return Err(NameError::ControlCharacter { character });
    }
    let found = name.chars().count();
    if found > MAX_NAME_CHARS {
        return Err(NameError::TooLong {
            max: MAX_NAME_CHARS,
            found,
        });
    }
    Ok(name)
}

fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn name(input: &str) -> String {
        normalize_name(input).unwrap()
    }

    #[test]
    fn kanji_kana_and_latin_names_are_kept() {
        assert_eq!(name("出雲市役所"), "出雲市役所");
        assert_eq!(name("チームルピナス"), "チームルピナス");
        assert_eq!(name("Izumo Home Care"), "Izumo Home Care");
    }

    #[test]
    fn full_width_latin_and_half_width_kana_are_normalised() {
        assert_eq!(name("ＡＢＣ訪問看護ｽﾃｰｼｮﾝ"), "ABC訪問看護ステーション");
        assert_eq!(name("㈱つなぐ"), "(株)つなぐ");
    }

    #[test]
    fn whitespace_runs_collapse_to_one_space_and_are_trimmed() {
        assert_eq!(name("\u{3000}山田\u{3000}\u{3000}太郎\n"), "山田 太郎");
        assert_eq!(
            name("西予市\t 地域包括支援センター"),
            "西予市 地域包括支援センター"
        );
    }

    #[test]
    fn a_name_of_only_whitespace_is_empty() {
        assert_eq!(normalize_name(""), Err(NameError::Empty));
        assert_eq!(normalize_name("\u{3000} \r\n"), Err(NameError::Empty));
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(
            normalize_name("山田\u{0}太郎"),
            Err(NameError::ControlCharacter { character: '\u{0}' })
        );
        assert_eq!(
            normalize_name("山田\u{7}"),
            Err(NameError::ControlCharacter { character: '\u{7}' })
        );
        assert_eq!(
            NameError::ControlCharacter { character: '\u{0}' }.to_string(),
            "name contains control character \\u{0}"
        );
    }

    #[test]
    fn bidirectional_overrides_are_refused() {
        assert_eq!(
            normalize_name("clinic\u{202E}gpj.exe"),
            Err(NameError::ControlCharacter {
                character: '\u{202E}'
            })
        );
    }

    #[test]
    fn a_name_may_have_200_characters_but_not_201() {
        let longest = "あ".repeat(MAX_NAME_CHARS);
        assert_eq!(normalize_name(&longest), Ok(longest.clone()));
        assert_eq!(
            normalize_name(&format!("{longest}い")),
            Err(NameError::TooLong {
                max: 200,
                found: 201
            })
        );
    }

    #[test]
    fn the_length_is_counted_after_trimming_and_collapsing() {
        let padded = format!("   {}   ", "あ ".repeat(100));
        assert_eq!(normalize_name(&padded).map(|n| n.chars().count()), Ok(199));
    }

    proptest! {
        #[test]
        fn normalising_any_text_returns_a_value_or_an_error(input in any::<String>()) {
            if let Ok(normalised) = normalize_name(&input) {
                prop_assert!(!normalised.is_empty());
                prop_assert!(normalised.chars().count() <= MAX_NAME_CHARS);
                prop_assert!(!normalised.chars().any(is_control));
            }
        }

        #[test]
        fn normalising_a_normalised_name_changes_nothing(input in "\\PC{1,40}") {
            if let Ok(normalised) = normalize_name(&input) {
                prop_assert_eq!(normalize_name(&normalised), Ok(normalised.clone()));
            }
        }
    }
}
