use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::Prefecture;

/// Why a string is not a valid [`LocalGovernmentCode`] (or [`Prefecture`] code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The input holds a character that is neither an ASCII nor a full-width digit.
    #[error("code contains {found:?}, which is not a digit")]
    NotADigit {
        /// The first offending character.
        found: char,
    },
    /// The input holds too few or too many digits.
    #[error("code has {found} digits, expected {expected}")]
    WrongLength {
        /// How many digits the code must have.
        expected: usize,
        /// How many it has.
        found: usize,
    },
    /// The first two digits are not a prefecture code 01–47.
    #[error("prefecture code {code:02} is not between 01 and 47")]
    UnknownPrefecture {
        /// The two-digit number read.
        code: u8,
    },
    /// The sixth digit does not match the first five.
    #[error("check digit is {found}, expected {expected}")]
    WrongCheckDigit {
        /// The check digit the first five digits call for.
        expected: u8,
        /// The check digit given.
        found: u8,
    },
}

/// A 全国地方公共団体コード: the six-digit code of a prefecture, city, town, village or
/// Tokyo special ward, such as `131016` for 千代田区.
///
/// The first two digits are the [`Prefecture`], the next three number the body within it,
/// and the last is a check digit over the first five. A value of this type always holds six
/// ASCII digits with a known prefecture and a correct check digit; it is displayed and
/// serialised as that string, and deserialising goes through [`parse`](Self::parse).
///
/// The check digit catches every change to the check digit itself, but not every single-digit
/// typo elsewhere: remainders 0 and 10 both fold to check digit 1, so a typo that moves the
/// weighted sum between them goes unnoticed. Of the 2,115,000 single-digit changes to the first
/// five digits of well-formed codes, 35,258 (about 1 in 60) yield another well-formed code;
/// 藤沢市 `142051` and `162051` are one such pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct LocalGovernmentCode {
    code: String,
    // Derived from `code`; kept so that `prefecture()` needs no fallible lookup.
    prefecture: Prefecture,
}

impl LocalGovernmentCode {
    /// Reads a six-digit code.
    ///
    /// Surrounding whitespace (including U+3000) is ignored and full-width digits `０`–`９` count
    /// as digits. The code must name a prefecture 01–47 and end in the right check digit: with
    /// `s = 6·d1 + 5·d2 + 4·d3 + 3·d4 + 2·d5`, the check digit is `(11 − s mod 11) mod 10`.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let [d1, d2, d3, d4, d5, check] = ascii_digits::<6>(input)?;
        let first_five = [d1, d2, d3, d4, d5];
        let prefecture = prefecture_of(&first_five)?;
        let expected = check_digit(&first_five);
        if check != expected {
            return Err(CodeError::WrongCheckDigit {
                expected,
                found: check,
            });
        }
        Ok(Self {
            code: digits_to_string(&[d1, d2, d3, d4, d5, check]),
            prefecture,
        })
    }

    /// Completes a five-digit code (the form some statistics use, e.g. `"32203"`) with its
    /// check digit (`322032`). Accepts the same spellings as [`parse`](Self::parse).
    pub fn with_check_digit(first_five: &str) -> Result<Self, CodeError> {
        let digits = ascii_digits::<5>(first_five)?;
        let prefecture = prefecture_of(&digits)?;
        let mut code = digits_to_string(&digits);
        code.push(char::from(b'0' + check_digit(&digits)));
        Ok(Self { code, prefecture })
    }

    /// The six digits, e.g. `"131016"`.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The first five digits, without the check digit, e.g. `"13101"`.
    pub fn without_check_digit(&self) -> &str {
        self.code.get(..5).unwrap_or(&self.code)
    }

    /// The prefecture named by the first two digits.
    pub fn prefecture(&self) -> Prefecture {
        self.prefecture
    }
}

impl fmt::Display for LocalGovernmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl AsRef<str> for LocalGovernmentCode {
    fn as_ref(&self) -> &str {
        &self.code
    }
}

impl FromStr for LocalGovernmentCode {
    type Err = CodeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<String> for LocalGovernmentCode {
    type Error = CodeError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LocalGovernmentCode> for String {
    fn from(code: LocalGovernmentCode) -> Self {
        code.code
    }
}

impl Serialize for LocalGovernmentCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.code)
    }
}

/// Reads exactly `N` digits (ASCII or full-width) after trimming surrounding whitespace.
pub(crate) fn ascii_digits<const N: usize>(input: &str) -> Result<[u8; N], CodeError> {
    let mut digits = [0u8; N];
    let mut found = 0usize;
    for c in input.trim().chars() {
        let digit = match c {
            '0'..='9' => u32::from(c) - u32::from('0'),
            '０'..='９' => u32::from(c) - u32::from('０'),
            _ => return Err(CodeError::NotADigit { found: c }),
        };
        if let Some(slot) = digits.get_mut(found) {
            // `digit` is 0..=9.
            *slot = digit as u8;
        }
        found += 1;
    }
    if found != N {
        return Err(CodeError::WrongLength { expected: N, found });
    }
    Ok(digits)
}

fn prefecture_of(digits: &[u8; 5]) -> Result<Prefecture, CodeError> {
    let code = digits[0] * 10 + digits[1];
    Prefecture::from_code(code).ok_or(CodeError::UnknownPrefecture { code })
}

/// `6·d1 + 5·d2 + 4·d3 + 3·d4 + 2·d5 mod 11`.
fn weighted_remainder(digits: &[u8; 5]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip([6u32, 5, 4, 3, 2])
        .map(|(&digit, weight)| u32::from(digit) * weight)
        .sum();
    // The sum is at most 9·20 = 180, so the remainder fits.
    (sum % 11) as u8
}

/// `(11 − remainder) mod 10`: remainder 1 gives 0, and both 0 and 10 give 1.
fn check_digit(digits: &[u8; 5]) -> u8 {
    (11 - weighted_remainder(digits)) % 10
}

fn digits_to_string(digits: &[u8]) -> String {
    digits.iter().map(|&d| char::from(b'0' + d)).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn code(input: &str) -> LocalGovernmentCode {
        LocalGovernmentCode::parse(input).unwrap()
    }

    #[test]
    fn real_municipal_codes_are_accepted() {
        let known = [
            ("011002", Prefecture::Hokkaido), // 札幌市
            ("131016", Prefecture::Tokyo),    // 千代田区
            ("322032", Prefecture::Shimane),  // 出雲市
            ("141500", Prefecture::Kanagawa), // 相模原市, check digit 0
            ("142051", Prefecture::Kanagawa), // 藤沢市, remainder 0 gives 1
            ("472107", Prefecture::Okinawa),
            ("473481", Prefecture::Okinawa),
            ("130001", Prefecture::Tokyo), // 東京都 itself
        ];
        for (input, prefecture) in known {
            let parsed = code(input);
            assert_eq!(parsed.as_str(), input);
            assert_eq!(parsed.prefecture(), prefecture, "{input}");
        }
    }

    #[test]
    fn a_wrong_check_digit_is_refused_with_the_expected_digit() {
        assert_eq!(
            LocalGovernmentCode::parse("322035"),
            Err(CodeError::WrongCheckDigit {
                expected: 2,
                found: 5
            })
        );
        let message = LocalGovernmentCode::parse("141501")
            .unwrap_err()
            .to_string();
        assert_eq!(message, "check digit is 1, expected 0");
    }

    #[test]
    fn surrounding_whitespace_and_full_width_digits_are_accepted() {
        assert_eq!(code(" ３２２０３２\u{3000}").as_str(), "322032");
        assert_eq!(code("\t13101６\n").as_str(), "131016");
    }

    #[test]
    fn a_code_with_too_few_or_too_many_digits_is_refused() {
        assert_eq!(
            LocalGovernmentCode::parse("13101"),
            Err(CodeError::WrongLength {
                expected: 6,
                found: 5
            })
        );
        assert_eq!(
            LocalGovernmentCode::parse("1310160"),
            Err(CodeError::WrongLength {
                expected: 6,
                found: 7
            })
        );
        assert_eq!(
            LocalGovernmentCode::parse("   "),
            Err(CodeError::WrongLength {
                expected: 6,
                found: 0
            })
        );
    }

    #[test]
    fn a_code_with_anything_but_digits_is_refused_naming_the_character() {
        assert_eq!(
            LocalGovernmentCode::parse("13-101"),
            Err(CodeError::NotADigit { found: '-' })
        );
        assert_eq!(
            LocalGovernmentCode::parse("131 016"),
            Err(CodeError::NotADigit { found: ' ' })
        );
        // Digits of other scripts are not digits of a Japanese code.
        assert_eq!(
            LocalGovernmentCode::parse("١٣١٠١٦"),
            Err(CodeError::NotADigit { found: '١' })
        );
    }

    #[test]
    fn a_code_outside_prefectures_01_to_47_is_refused() {
        assert_eq!(
            LocalGovernmentCode::parse("000000"),
            Err(CodeError::UnknownPrefecture { code: 0 })
        );
        assert_eq!(
            LocalGovernmentCode::with_check_digit("48001"),
            Err(CodeError::UnknownPrefecture { code: 48 })
        );
        assert_eq!(
            CodeError::UnknownPrefecture { code: 0 }.to_string(),
            "prefecture code 00 is not between 01 and 47"
        );
    }

    #[test]
    fn five_digits_are_completed_with_their_check_digit() {
        let izumo = LocalGovernmentCode::with_check_digit("32203").unwrap();
        assert_eq!(izumo.as_str(), "322032");
        assert_eq!(izumo.without_check_digit(), "32203");
        assert_eq!(izumo.prefecture(), Prefecture::Shimane);
        assert_eq!(
            LocalGovernmentCode::with_check_digit("14150")
                .unwrap()
                .as_str(),
            "141500"
        );
        assert_eq!(
            LocalGovernmentCode::with_check_digit("322032"),
            Err(CodeError::WrongLength {
                expected: 5,
                found: 6
            })
        );
    }

    #[test]
    fn a_code_displays_and_serialises_as_its_six_digits() {
        let chiyoda = code("131016");
        assert_eq!(chiyoda.to_string(), "131016");
        assert_eq!(serde_json::to_string(&chiyoda).unwrap(), r#""131016""#);
        let back: LocalGovernmentCode = serde_json::from_str(r#""131016""#).unwrap();
        assert_eq!(back, chiyoda);
    }

    #[test]
    fn deserialising_validates_the_code() {
        let error = serde_json::from_str::<LocalGovernmentCode>(r#""131017""#).unwrap_err();
        assert!(error.to_string().contains("check digit is 7, expected 6"));
        assert!(serde_json::from_str::<LocalGovernmentCode>("131016").is_err());
        let normalised: LocalGovernmentCode = serde_json::from_str(r#"" １３１０１６ ""#).unwrap();
        assert_eq!(normalised.as_str(), "131016");
    }

    #[test]
    fn the_mod_10_fold_lets_some_single_digit_typos_through() {
        // 藤沢市 142051 has remainder 0; raising d2 by 2 adds 10 to the weighted sum, giving
        // remainder 10, which folds to the same check digit 1.
        assert_eq!(weighted_remainder(&[1, 4, 2, 0, 5]), 0);
        assert_eq!(weighted_remainder(&[1, 6, 2, 0, 5]), 10);
        assert_eq!(code("142051").prefecture(), Prefecture::Kanagawa);
        assert_eq!(code("162051").prefecture(), Prefecture::Toyama);
    }

    #[test]
    fn about_one_single_digit_typo_in_sixty_goes_unnoticed_and_only_through_the_fold() {
        let (mut typos, mut unnoticed) = (0u32, 0u32);
        for prefecture in 1u8..=47 {
            for number in 0u16..1000 {
                let [hundreds, tens, ones] = [number / 100, number / 10 % 10, number % 10];
                let first_five = [
                    prefecture / 10,
                    prefecture % 10,
                    hundreds as u8,
                    tens as u8,
                    ones as u8,
                ];
                let check = check_digit(&first_five);
                for position in 0..5 {
                    for shift in 1..=9 {
                        let mut changed = first_five;
                        changed[position] = (changed[position] + shift) % 10;
                        let mut typo = digits_to_string(&changed);
                        typo.push(char::from(b'0' + check));
                        typos += 1;
                        if LocalGovernmentCode::parse(&typo).is_ok() {
                            unnoticed += 1;
                            let remainders = [
                                weighted_remainder(&first_five),
                                weighted_remainder(&changed),
                            ];
                            assert!(remainders == [0, 10] || remainders == [10, 0], "{typo}");
                        }
                    }
                }
            }
        }
        assert_eq!((typos, unnoticed), (2_115_000, 35_258));
    }

    fn valid_first_five() -> impl Strategy<Value = [u8; 5]> {
        (1u8..=47, proptest::array::uniform3(0u8..=9))
            .prop_map(|(prefecture, [d3, d4, d5])| [prefecture / 10, prefecture % 10, d3, d4, d5])
    }

    proptest! {
        #[test]
        fn every_five_digits_with_a_valid_prefecture_yield_a_code_that_parses(
            first_five in valid_first_five()
        ) {
            let five = digits_to_string(&first_five);
            let completed = LocalGovernmentCode::with_check_digit(&five).unwrap();
            prop_assert_eq!(completed.without_check_digit(), five.as_str());
            let parsed = LocalGovernmentCode::parse(completed.as_str()).unwrap();
            prop_assert_eq!(parsed.prefecture().code(), first_five[0] * 10 + first_five[1]);
            prop_assert_eq!(parsed, completed);
        }

        #[test]
        fn changing_the_check_digit_is_always_detected(
            first_five in valid_first_five(),
            shift in 1u8..=9,
        ) {
            let valid = check_digit(&first_five);
            let mut digits = first_five.to_vec();
            digits.push((valid + shift) % 10);
            let result = LocalGovernmentCode::parse(&digits_to_string(&digits));
            prop_assert_eq!(result, Err(CodeError::WrongCheckDigit { expected: valid, found: (valid + shift) % 10 }));
        }

        #[test]
        fn changing_one_of_the_first_five_digits_is_detected_unless_it_swaps_remainders_0_and_10(
            first_five in valid_first_five(),
            position in 0usize..5,
            shift in 1u8..=9,
        ) {
            let check = check_digit(&first_five);
            let mut changed = first_five;
            changed[position] = (changed[position] + shift) % 10;
            let mut typo = digits_to_string(&changed);
            typo.push(char::from(b'0' + check));

            let before = weighted_remainder(&first_five);
            let after = weighted_remainder(&changed);
            // Weights 2..=6 and shifts 1..=9 are never multiples of 11, so the remainder
            // always moves ...
            prop_assert_ne!(before, after);
            let result = LocalGovernmentCode::parse(&typo);
            match prefecture_of(&changed) {
                Err(error) => prop_assert_eq!(result, Err(error)),
                // ... and only the move between 0 and 10 keeps the check digit.
                Ok(_) if before.min(after) == 0 && before.max(after) == 10 => {
                    prop_assert!(result.is_ok());
                }
                Ok(_) => {
                    let is_wrong_check_digit = matches!(result, Err(CodeError::WrongCheckDigit { .. }));
                    prop_assert!(is_wrong_check_digit);
                }
            }
        }

        #[test]
        fn parsing_any_text_returns_a_value_or_an_error(input in ".{0,12}") {
            if let Ok(parsed) = LocalGovernmentCode::parse(&input) {
                prop_assert_eq!(parsed.as_str().len(), 6);
                prop_assert_eq!(LocalGovernmentCode::parse(parsed.as_str()), Ok(parsed.clone()));
            }
        }
    }
}
