//! Words of free text as a search finds them: Japanese has no spaces between words and many
//! of its words are two characters (褥瘡, 発熱), so text is cut into overlapping pairs of
//! characters (bigrams), after folding what a reader would call the same letter.

use std::collections::BTreeSet;

use unicode_normalization::UnicodeNormalization;

/// Folds a text as a search compares it: NFKC (half-width ｼﾞｮｸｿｳ becomes ジョクソウ, full-width
/// ＡＢＣ１ becomes ABC1), then lower case (ABC becomes abc).
pub fn fold(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

/// The runs of letters and digits of a folded text (any script), split at everything else:
/// spaces, punctuation (、。・「」), symbols.
pub fn runs(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|run| !run.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Every distinct pair of neighbouring characters within a run of `text`, in order of the
/// characters (sorted). A run of one character makes none: a search needs two characters.
pub fn bigrams(text: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    for run in runs(text) {
        let chars: Vec<char> = run.chars().collect();
        for pair in chars.windows(2) {
            out.insert(pair.iter().collect::<String>());
        }
    }
    out.into_iter().collect()
}

/// Does `text` hold every run of `query`, as folded? (The bigrams only narrow the search;
/// this decides.)
pub fn holds(text: &str, query: &str) -> bool {
    let text = fold(text);
    runs(query).iter().all(|run| text.contains(run.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_character_word_is_one_bigram_found_in_the_middle_of_a_sentence() {
        assert_eq!(bigrams("褥瘡"), vec!["褥瘡".to_owned()]);
        let text = "本日訪問。仙骨部の褥瘡が悪化、処置を変更しました。";
        assert!(bigrams(text).contains(&"褥瘡".to_owned()));
        assert!(holds(text, "褥瘡"));
        assert!(holds(text, "褥瘡 悪化"));
        assert!(!holds(text, "褥瘡 発熱"));
        assert!(!holds("褥の瘡", "褥瘡"), "the pair must be neighbours");
    }

    #[test]
    fn kana_width_and_latin_case_are_folded() {
        assert_eq!(fold("ｼﾞｮｸｿｳ"), "ジョクソウ");
        assert!(holds("ジョクソウ処置", "ｼﾞｮｸｿｳ"));
        assert!(holds("SpO2 95%", "ｓｐｏ２"));
        assert_eq!(bigrams("ＡＢ"), bigrams("ab"));
    }

    #[test]
    fn punctuation_and_spaces_split_runs_and_one_character_makes_no_bigram() {
        assert_eq!(runs("発熱、咳。 痛"), vec!["発熱", "咳", "痛"]);
        assert_eq!(bigrams("発熱、咳。 痛"), vec!["発熱".to_owned()]);
        assert!(bigrams("痛").is_empty());
        assert!(bigrams("、。！").is_empty());
    }
}
