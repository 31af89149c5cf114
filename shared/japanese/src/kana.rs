use unicode_normalization::UnicodeNormalization;

use crate::collapse_whitespace;

/// Why a text is not a usable reading (フリガナ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KanaError {
    /// Nothing but whitespace was given.
    #[error("reading is empty")]
    Empty,
    /// A character other than kana, ー, ・ or a space.
    #[error("reading contains {character:?}, which is not kana, ー, ・ or a space")]
    NotKana {
        /// The first offending character, as it stands after normalisation.
        character: char,
    },
}

/// Normalises a reading (フリガナ) to full-width katakana.
///
/// In order: NFKC (half-width ｲｽﾞﾓ becomes イズモ, with its voiced marks combined; full-width
/// ASCII and U+3000 become ASCII), hiragana to katakana (いずも becomes イズモ), every run of
/// whitespace to one ASCII space, and trimming. What remains may hold only katakana
/// (ァ–ヺ, including the iteration marks ヽ ヾ), the prolonged sound mark ー, the middle dot ・
/// and spaces; anything else — kanji, Latin letters, digits, a loose ゛ — is refused naming the
/// first such character.
pub fn normalize_kana(input: &str) -> Result<String, KanaError> {
    let reading = collapse_whitespace(input.nfkc().map(hiragana_to_katakana));
    if reading.is_empty() {
        return Err(KanaError::Empty);
    }
    match reading.chars().find(|&c| !is_reading_char(c)) {
        Some(character) => Err(KanaError::NotKana { character }),
        None => Ok(reading),
    }
}

/// A key that sorts readings in 五十音 order: compare keys as strings (byte order, which is
/// what `str`'s `Ord` and a Postgres column with `COLLATE "C"` do) and the readings come out
/// as in a Japanese dictionary.
///
/// Expects a reading from [`normalize_kana`]. The key is a primary part, then U+0001, then
/// the reading itself. (Not U+0000, which a Postgres `text` column refuses.) The primary part treats small kana as large (ッ as ツ), voiced and
/// semi-voiced kana as their plain base (ガ as カ, パ as ハ, ヴ as ウ), ー as the vowel of the
/// kana before it (コーヒー as コオヒイ), ヽ ヾ as a repeat of the kana before, and ・ as a space.
/// The plain kana's code points already run in 五十音 order (ア … ン), and U+0001 and a space
/// sort before any kana, so a reading comes before its extensions (ヤマ before ヤマダ) and a
/// family name followed by a space before a longer family name (ヤマダ タロウ before ヤマダイ). Readings with the same primary
/// part are ordered by the reading itself (ハ before バ before パ, ッ before ツ), so the
/// order is total and the same everywhere: two keys are equal only for equal readings.
/// Characters the function does not know pass through unchanged.
pub fn gojuon_key(reading: &str) -> String {
    let mut key = String::with_capacity(reading.len() * 2 + 1);
    let mut previous: Option<char> = None;
    for c in reading.chars().map(hiragana_to_katakana) {
        let primary = match c {
            'ー' => previous.and_then(vowel_of).unwrap_or(c),
            'ヽ' | 'ヾ' => previous.filter(|&p| is_kana(p)).unwrap_or(c),
            '・' => ' ',
            _ => fold(c),
        };
        key.push(primary);
        previous = Some(primary);
    }
    key.push(SEPARATOR);
    key.push_str(reading);
    key
}

/// Ends the primary part of a [`gojuon_key`]; sorts before every character of a reading.
const SEPARATOR: char = '\u{1}';

fn hiragana_to_katakana(c: char) -> char {
    match c {
        // ぁ..ゖ and the iteration marks ゝ ゞ sit exactly 0x60 below their katakana.
        '\u{3041}'..='\u{3096}' | 'ゝ' | 'ゞ' => char::from_u32(u32::from(c) + 0x60).unwrap_or(c),
        _ => c,
    }
}

/// Katakana ァ..ヺ, ・, ー, ヽ, ヾ (U+30A1..=U+30FE), or an ASCII space.
fn is_reading_char(c: char) -> bool {
    c == ' ' || ('\u{30A1}'..='\u{30FE}').contains(&c)
}

fn is_kana(c: char) -> bool {
    ('\u{30A1}'..='\u{30FA}').contains(&c)
}

/// Small kana to large, voiced and semi-voiced kana to plain; each pair of strings lines up
/// character by character.
const FOLDS: [(&str, &str); 12] = [
    ("ァィゥェォ", "アイウエオ"),
    ("ヵヶ", "カケ"),
    ("ガギグゲゴ", "カキクケコ"),
    ("ザジズゼゾ", "サシスセソ"),
    ("ダヂヅデド", "タチツテト"),
    ("ッ", "ツ"),
    ("バビブベボ", "ハヒフヘホ"),
    ("パピプペポ", "ハヒフヘホ"),
    ("ャュョ", "ヤユヨ"),
    ("ヮ", "ワ"),
    ("ヴ", "ウ"),
    ("ヷヸヹヺ", "ワヰヱヲ"),
];

fn fold(c: char) -> char {
    FOLDS
        .iter()
        .find_map(|(from, to)| {
            let index = from.chars().position(|f| f == c)?;
            to.chars().nth(index)
        })
        .unwrap_or(c)
}

/// The five 段 (vowel columns) of the plain kana.
const VOWELS: [(&str, char); 5] = [
    ("アカサタナハマヤラワ", 'ア'),
    ("イキシチニヒミリヰ", 'イ'),
    ("ウクスツヌフムユル", 'ウ'),
    ("エケセテネヘメレヱ", 'エ'),
    ("オコソトノホモヨロヲ", 'オ'),
];

fn vowel_of(plain: char) -> Option<char> {
    VOWELS
        .iter()
        .find(|(column, _)| column.contains(plain))
        .map(|&(_, vowel)| vowel)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn kana(input: &str) -> String {
        normalize_kana(input).unwrap()
    }

    #[test]
    fn half_width_katakana_becomes_full_width_with_voiced_marks_combined() {
        assert_eq!(kana("ｲｽﾞﾓ"), "イズモ");
        assert_eq!(kana("ﾊﾟｰﾄﾅｰ"), "パートナー");
        assert_eq!(kana("ｲｽﾞﾓ").chars().count(), 3);
    }

    #[test]
    fn hiragana_becomes_katakana() {
        assert_eq!(kana("いずも しやくしょ"), "イズモ シヤクショ");
        assert_eq!(kana("ゔぁいおりん"), "ヴァイオリン");
        assert_eq!(kana("みすゞ"), "ミスヾ");
    }

    #[test]
    fn whitespace_runs_collapse_to_one_space_and_are_trimmed() {
        assert_eq!(
            kana("\u{3000}ヤマダ\u{3000}\u{3000} タロウ "),
            "ヤマダ タロウ"
        );
        assert_eq!(kana("ﾔﾏﾀﾞ\tﾀﾛｳ"), "ヤマダ タロウ");
    }

    #[test]
    fn the_prolonged_sound_mark_and_the_middle_dot_are_kept() {
        assert_eq!(kana("ジョン・スミス"), "ジョン・スミス");
        assert_eq!(kana("ｺｰﾋｰ･ｼｮｯﾌﾟ"), "コーヒー・ショップ");
    }

    #[test]
    fn kanji_in_a_reading_is_refused_naming_the_character() {
        assert_eq!(
            normalize_kana("イズモ市"),
            Err(KanaError::NotKana { character: '市' })
        );
        assert_eq!(
            KanaError::NotKana { character: '市' }.to_string(),
            "reading contains '市', which is not kana, ー, ・ or a space"
        );
    }

    #[test]
    fn latin_letters_and_digits_are_refused_even_when_full_width() {
        assert_eq!(
            normalize_kana("ＡＢＣ"),
            Err(KanaError::NotKana { character: 'A' })
        );
        assert_eq!(
            normalize_kana("ダイ２ビル"),
            Err(KanaError::NotKana { character: '2' })
        );
        assert_eq!(
            normalize_kana("サトウ-タロウ"),
            Err(KanaError::NotKana { character: '-' })
        );
    }

    #[test]
    fn a_reading_of_only_whitespace_is_empty() {
        assert_eq!(normalize_kana(""), Err(KanaError::Empty));
        assert_eq!(normalize_kana(" \u{3000}\n"), Err(KanaError::Empty));
    }

    fn sorted(readings: &[&str]) -> Vec<String> {
        let mut readings: Vec<String> = readings.iter().map(|r| r.to_string()).collect();
        readings.sort_by_cached_key(|r| gojuon_key(r));
        readings
    }

    #[test]
    fn the_key_is_the_plain_form_then_the_reading_with_no_nul_for_postgres() {
        assert_eq!(gojuon_key("ガッコウ"), "カツコウ\u{1}ガッコウ");
        assert_eq!(
            gojuon_key("ジョン・スミス"),
            "シヨン スミス\u{1}ジョン・スミス"
        );
        assert!(!gojuon_key("コーヒー").contains('\0'));
    }

    #[test]
    fn sorting_by_the_key_gives_gojuon_order() {
        assert_eq!(
            sorted(&["ガッコウ", "カッコウ", "アオバク", "ツヅキク", "イズモシ"]),
            ["アオバク", "イズモシ", "カッコウ", "ガッコウ", "ツヅキク"]
        );
    }

    #[test]
    fn voiced_and_small_kana_sort_with_their_plain_forms() {
        // Code point order would put every ガ after キ and every パ after ヒ.
        assert_eq!(
            sorted(&["キタ", "ガクエン", "ヒロシマ", "パン", "ハナ"]),
            ["ガクエン", "キタ", "ハナ", "パン", "ヒロシマ"]
        );
        assert_eq!(
            sorted(&["キヨウ", "キョウ", "キョ"]),
            ["キョ", "キョウ", "キヨウ"]
        );
    }

    #[test]
    fn a_prolonged_sound_sorts_as_its_vowel() {
        // コー is read コオ, so コーチ sits between コウチ and コオリ; in code point order
        // ー would put it after both.
        assert_eq!(
            sorted(&["コオリ", "コーチ", "コウチ"]),
            ["コウチ", "コーチ", "コオリ"]
        );
    }

    #[test]
    fn a_shorter_family_name_sorts_before_a_longer_one() {
        assert_eq!(
            sorted(&["ヤマダイ ハナコ", "ヤマダ タロウ", "ヤマ ジロウ"]),
            ["ヤマ ジロウ", "ヤマダ タロウ", "ヤマダイ ハナコ"]
        );
    }

    #[test]
    fn readings_that_differ_only_in_marks_order_plain_then_voiced_then_semi_voiced() {
        assert_eq!(sorted(&["パン", "バン", "ハン"]), ["ハン", "バン", "パン"]);
    }

    #[test]
    fn every_fold_pairs_the_same_number_of_characters() {
        for (from, to) in FOLDS {
            assert_eq!(from.chars().count(), to.chars().count(), "{from}");
        }
    }

    /// Normalised readings: katakana, ー, ・ and single spaces.
    fn reading() -> impl Strategy<Value = String> {
        "[ァ-ヾ ]{1,12}".prop_filter_map("blank", |chars| normalize_kana(&chars).ok())
    }

    proptest! {
        #[test]
        fn normalising_any_text_yields_only_reading_characters_or_an_error(input in "\\PC{0,24}") {
            if let Ok(reading) = normalize_kana(&input) {
                prop_assert!(reading.chars().all(is_reading_char));
                prop_assert!(!reading.starts_with(' ') && !reading.ends_with(' '));
                prop_assert!(!reading.contains("  "));
            }
        }

        #[test]
        fn normalising_a_normalised_reading_changes_nothing(input in "[ぁ-ゖァ-ヾｦ-ﾟ\u{3000} ]{1,16}") {
            if let Ok(reading) = normalize_kana(&input) {
                prop_assert_eq!(normalize_kana(&reading), Ok(reading.clone()));
            }
        }

        #[test]
        fn keys_are_equal_only_for_equal_readings(a in reading(), b in reading()) {
            prop_assert_eq!(gojuon_key(&a) == gojuon_key(&b), a == b);
        }

        #[test]
        fn the_key_orders_by_plain_form_first(a in reading(), b in reading()) {
            let primary = |r: &str| gojuon_key(r).split(SEPARATOR).next().unwrap_or_default().to_string();
            if primary(&a) < primary(&b) {
                prop_assert!(gojuon_key(&a) < gojuon_key(&b));
            }
        }
    }
}
