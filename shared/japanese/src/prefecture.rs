use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::code::{CodeError, ascii_digits};

/// One of the 47 prefectures (都道府県), numbered by its JIS X 0401 code 01–47.
///
/// The code is the first two digits of every [`LocalGovernmentCode`](crate::LocalGovernmentCode)
/// in the prefecture. With serde it is the two-digit string (`"13"` for 東京都); deserialising
/// anything else fails.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
#[repr(u8)]
pub enum Prefecture {
    /// 01 北海道
    Hokkaido = 1,
    /// 02 青森県
    Aomori,
    /// 03 岩手県
    Iwate,
    /// 04 宮城県
    Miyagi,
    /// 05 秋田県
    Akita,
    /// 06 山形県
    Yamagata,
    /// 07 福島県
    Fukushima,
    /// 08 茨城県
    Ibaraki,
    /// 09 栃木県
    Tochigi,
    /// 10 群馬県
    Gunma,
    /// 11 埼玉県
    Saitama,
    /// 12 千葉県
    Chiba,
    /// 13 東京都
    Tokyo,
    /// 14 神奈川県
    Kanagawa,
    /// 15 新潟県
    Niigata,
    /// 16 富山県
    Toyama,
    /// 17 石川県
    Ishikawa,
    /// 18 福井県
    Fukui,
    /// 19 山梨県
    Yamanashi,
    /// 20 長野県
    Nagano,
    /// 21 岐阜県
    Gifu,
    /// 22 静岡県
    Shizuoka,
    /// 23 愛知県
    Aichi,
    /// 24 三重県
    Mie,
    /// 25 滋賀県
    Shiga,
    /// 26 京都府
    Kyoto,
    /// 27 大阪府
    Osaka,
    /// 28 兵庫県
    Hyogo,
    /// 29 奈良県
    Nara,
    /// 30 和歌山県
    Wakayama,
    /// 31 鳥取県
    Tottori,
    /// 32 島根県
    Shimane,
    /// 33 岡山県
    Okayama,
    /// 34 広島県
    Hiroshima,
    /// 35 山口県
    Yamaguchi,
    /// 36 徳島県
    Tokushima,
    /// 37 香川県
    Kagawa,
    /// 38 愛媛県
    Ehime,
    /// 39 高知県
    Kochi,
    /// 40 福岡県
    Fukuoka,
    /// 41 佐賀県
    Saga,
    /// 42 長崎県
    Nagasaki,
    /// 43 熊本県
    Kumamoto,
    /// 44 大分県
    Oita,
    /// 45 宮崎県
    Miyazaki,
    /// 46 鹿児島県
    Kagoshima,
    /// 47 沖縄県
    Okinawa,
}

/// Every prefecture in code order: entry `i` has code `i + 1`.
const TABLE: [(Prefecture, &str, &str); 47] = {
    use Prefecture::*;
    [
        (Hokkaido, "北海道", "ホッカイドウ"),
        (Aomori, "青森県", "アオモリケン"),
        (Iwate, "岩手県", "イワテケン"),
        (Miyagi, "宮城県", "ミヤギケン"),
        (Akita, "秋田県", "アキタケン"),
        (Yamagata, "山形県", "ヤマガタケン"),
        (Fukushima, "福島県", "フクシマケン"),
        (Ibaraki, "茨城県", "イバラキケン"),
        (Tochigi, "栃木県", "トチギケン"),
        (Gunma, "群馬県", "グンマケン"),
        (Saitama, "埼玉県", "サイタマケン"),
        (Chiba, "千葉県", "チバケン"),
        (Tokyo, "東京都", "トウキョウト"),
        (Kanagawa, "神奈川県", "カナガワケン"),
        (Niigata, "新潟県", "ニイガタケン"),
        (Toyama, "富山県", "トヤマケン"),
        (Ishikawa, "石川県", "イシカワケン"),
        (Fukui, "福井県", "フクイケン"),
        (Yamanashi, "山梨県", "ヤマナシケン"),
        (Nagano, "長野県", "ナガノケン"),
        (Gifu, "岐阜県", "ギフケン"),
        (Shizuoka, "静岡県", "シズオカケン"),
        (Aichi, "愛知県", "アイチケン"),
        (Mie, "三重県", "ミエケン"),
        (Shiga, "滋賀県", "シガケン"),
        (Kyoto, "京都府", "キョウトフ"),
        (Osaka, "大阪府", "オオサカフ"),
        (Hyogo, "兵庫県", "ヒョウゴケン"),
        (Nara, "奈良県", "ナラケン"),
        (Wakayama, "和歌山県", "ワカヤマケン"),
        (Tottori, "鳥取県", "トットリケン"),
        (Shimane, "島根県", "シマネケン"),
        (Okayama, "岡山県", "オカヤマケン"),
        (Hiroshima, "広島県", "ヒロシマケン"),
        (Yamaguchi, "山口県", "ヤマグチケン"),
        (Tokushima, "徳島県", "トクシマケン"),
        (Kagawa, "香川県", "カガワケン"),
        (Ehime, "愛媛県", "エヒメケン"),
        (Kochi, "高知県", "コウチケン"),
        (Fukuoka, "福岡県", "フクオカケン"),
        (Saga, "佐賀県", "サガケン"),
        (Nagasaki, "長崎県", "ナガサキケン"),
        (Kumamoto, "熊本県", "クマモトケン"),
        (Oita, "大分県", "オオイタケン"),
        (Miyazaki, "宮崎県", "ミヤザキケン"),
        (Kagoshima, "鹿児島県", "カゴシマケン"),
        (Okinawa, "沖縄県", "オキナワケン"),
    ]
};

impl Prefecture {
    /// The prefecture with this code, or `None` outside 1..=47.
    pub fn from_code(code: u8) -> Option<Prefecture> {
        let index = usize::from(code.checked_sub(1)?);
        TABLE.get(index).map(|entry| entry.0)
    }

    /// All 47 prefectures in code order, from 北海道 to 沖縄県.
    pub fn all() -> impl ExactSizeIterator<Item = Prefecture> {
        TABLE.iter().map(|entry| entry.0)
    }

    /// The JIS X 0401 code, 1..=47.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The official name in kanji, with its suffix: 北海道, 東京都, 京都府, 沖縄県.
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// The reading of [`name`](Self::name) in full-width katakana: ホッカイドウ, トウキョウト.
    pub fn name_kana(self) -> &'static str {
        self.entry().2
    }

    fn entry(self) -> &'static (Prefecture, &'static str, &'static str) {
        // Discriminants run 1..=47 and the table holds 47 entries in code order.
        &TABLE[usize::from(self.code()) - 1]
    }
}

impl fmt::Debug for Prefecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prefecture({:02} {})", self.code(), self.name())
    }
}

impl FromStr for Prefecture {
    type Err = CodeError;

    /// Reads a two-digit code such as `"13"`, after trimming whitespace and converting
    /// full-width digits (`"１３"`).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let [tens, ones] = ascii_digits::<2>(input)?;
        let code = tens * 10 + ones;
        Prefecture::from_code(code).ok_or(CodeError::UnknownPrefecture { code })
    }
}

impl TryFrom<String> for Prefecture {
    type Error = CodeError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl Serialize for Prefecture {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:02}", self.code()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_47_prefectures_in_code_order() {
        for (index, (prefecture, _, _)) in TABLE.iter().enumerate() {
            assert_eq!(usize::from(prefecture.code()), index + 1);
        }
        assert_eq!(Prefecture::all().count(), 47);
    }

    #[test]
    fn well_known_codes_name_the_right_prefecture() {
        let expected = [
            (1, "北海道", "ホッカイドウ"),
            (13, "東京都", "トウキョウト"),
            (14, "神奈川県", "カナガワケン"),
            (26, "京都府", "キョウトフ"),
            (27, "大阪府", "オオサカフ"),
            (32, "島根県", "シマネケン"),
            (47, "沖縄県", "オキナワケン"),
        ];
        for (code, name, kana) in expected {
            let prefecture = Prefecture::from_code(code).unwrap();
            assert_eq!((prefecture.name(), prefecture.name_kana()), (name, kana));
        }
    }

    #[test]
    fn there_is_one_to_and_two_fu_and_forty_three_ken_besides_hokkaido() {
        let ending = |suffix: char| {
            Prefecture::all()
                .filter(|p| p.name().ends_with(suffix))
                .count()
        };
        assert_eq!(ending('都'), 1);
        assert_eq!(ending('府'), 2);
        assert_eq!(ending('県'), 43);
        assert_eq!(Prefecture::Hokkaido.name(), "北海道");
    }

    #[test]
    fn every_reading_is_normalised_katakana_ending_like_its_name() {
        for prefecture in Prefecture::all() {
            let kana = prefecture.name_kana();
            assert_eq!(crate::normalize_kana(kana).as_deref(), Ok(kana));
            let suffix = match prefecture.name().chars().last() {
                Some('都') => "ト",
                Some('府') => "フ",
                Some('県') => "ケン",
                _ => "ドウ",
            };
            assert!(kana.ends_with(suffix), "{prefecture:?} is read {kana}");
        }
    }

    #[test]
    fn codes_outside_1_to_47_name_no_prefecture() {
        assert_eq!(Prefecture::from_code(0), None);
        assert_eq!(Prefecture::from_code(48), None);
        assert_eq!(Prefecture::from_code(u8::MAX), None);
    }

    #[test]
    fn a_prefecture_serialises_as_its_two_digit_code() {
        assert_eq!(
            serde_json::to_string(&Prefecture::Hokkaido).unwrap(),
            r#""01""#
        );
        assert_eq!(
            serde_json::to_string(&Prefecture::Okinawa).unwrap(),
            r#""47""#
        );
        let back: Prefecture = serde_json::from_str(r#""13""#).unwrap();
        assert_eq!(back, Prefecture::Tokyo);
    }

    #[test]
    fn deserialising_an_unknown_or_malformed_prefecture_fails() {
        for input in [r#""00""#, r#""48""#, r#""1""#, r#""013""#, r#""ab""#, "13"] {
            assert!(
                serde_json::from_str::<Prefecture>(input).is_err(),
                "{input}"
            );
        }
    }

    #[test]
    fn a_prefecture_code_may_be_typed_with_full_width_digits() {
        assert_eq!(" ２６ ".parse::<Prefecture>(), Ok(Prefecture::Kyoto));
        assert_eq!(
            "99".parse::<Prefecture>(),
            Err(CodeError::UnknownPrefecture { code: 99 })
        );
    }
}
