//! Numbers an organisation, a site or a patient is known by: 法人番号, 事業所番号, 保険者番号,
//! 被保険者番号, phone numbers.
//! Each arrives as a person typed it (full-width digits, odd dashes) and is stored as one
//! canonical string, or refused naming the field.

use super::Invalid;

/// Full-width digits become ASCII digits; the ends are trimmed.
fn ascii_digits(input: &str) -> String {
    input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => {
                char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// The check digit of a 法人番号 over its twelve base digits (国税庁 法人番号の指定等に関する
/// 省令 第2条): 9 − (Σ Pₙ·Qₙ mod 9), where Pₙ is the n-th base digit counted from the right
/// and Qₙ is 1 for odd n, 2 for even n.
pub fn corporate_check_digit(base: &[u8; 12]) -> u8 {
    let sum: u32 = base
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 1 } else { 2 })
        .sum();
    9 - (sum % 9) as u8
}

/// A 法人番号: 13 digits, the first a check digit over the other twelve. Full-width digits
/// are accepted; the result is 13 ASCII digits.
pub fn corporate_number(field: &str, input: &str) -> Result<String, Invalid> {
    let number = ascii_digits(input);
    if let Some(c) = number.chars().find(|c| !c.is_ascii_digit()) {
        return Err(Invalid::new(
            field,
            format!("a corporate number is 13 digits; {c:?} is not a digit"),
        ));
    }
    if number.len() != 13 {
        return Err(Invalid::new(
            field,
            format!("a corporate number is 13 digits, not {}", number.len()),
        ));
    }
    let digits: Vec<u8> = number.bytes().map(|b| b - b'0').collect();
    let mut base = [0u8; 12];
    base.copy_from_slice(&digits[1..]);
    if corporate_check_digit(&base) != digits[0] {
        return Err(Invalid::new(
            field,
            "the check digit (the first digit) does not match the other twelve; check for a typo",
        ));
    }
    Ok(number)
}

/// A 事業所番号 of the long-term care insurance: 10 digits, the first two the prefecture
/// (01–47). Full-width digits are accepted; the result is 10 ASCII digits.
pub fn provider_number(field: &str, input: &str) -> Result<String, Invalid> {
    let number = ascii_digits(input);
    if number.len() != 10 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::new(field, "a provider number is 10 digits"));
    }
    let prefecture: u8 = number[..2].parse().unwrap_or(0);
    if !(1..=47).contains(&prefecture) {
        return Err(Invalid::new(
            field,
            format!("a provider number starts with its prefecture, 01 to 47, not {prefecture:02}"),
        ));
    }
    Ok(number)
}

/// A 保険者番号 of the long-term care insurance: 6 digits, the first two the prefecture
/// (01–47). Full-width digits are accepted; the result is 6 ASCII digits.
pub fn insurer_number(field: &str, input: &str) -> Result<String, Invalid> {
    let number = ascii_digits(input);
    if number.len() != 6 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::new(field, "an insurer number is 6 digits"));
    }
    let prefecture: u8 = number[..2].parse().unwrap_or(0);
    if !(1..=47).contains(&prefecture) {
        return Err(Invalid::new(
            field,
            format!("an insurer number starts with its prefecture, 01 to 47, not {prefecture:02}"),
        ));
    }
    Ok(number)
}

/// A 被保険者番号: 10 digits, kept as a string (leading zeros matter). Full-width digits are
/// accepted; the result is 10 ASCII digits.
pub fn insured_number(field: &str, input: &str) -> Result<String, Invalid> {
    let number = ascii_digits(input);
    if number.len() != 10 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::new(
            field,
            "an insured number is 10 digits, as printed on the insurance card",
        ));
    }
    Ok(number)
}

/// A Japanese phone (or FAX) number: digits with optional single hyphens between them,
/// starting with 0, 10 or 11 digits in all. Full-width digits and the dashes people type for
/// a hyphen (－ ‐ − ー …) are accepted; otherwise it is kept as given.
pub fn phone(field: &str, input: &str) -> Result<String, Invalid> {
    let number: String = ascii_digits(input)
        .chars()
        .map(|c| match c {
            '－' | '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' | 'ー' | 'ｰ' => '-',
            _ => c,
        })
        .collect();
    if let Some(c) = number.chars().find(|c| !c.is_ascii_digit() && *c != '-') {
        return Err(Invalid::new(
            field,
            format!("a phone number is digits and hyphens; {c:?} is neither"),
        ));
    }
    if number.starts_with('-') || number.ends_with('-') || number.contains("--") {
        return Err(Invalid::new(
            field,
            "hyphens go between digits, one at a time",
        ));
    }
    if !number.starts_with('0') {
        return Err(Invalid::new(
            field,
            "a phone number starts with 0 (the trunk prefix)",
        ));
    }
    let digits = number.bytes().filter(u8::is_ascii_digit).count();
    if !(10..=11).contains(&digits) {
        return Err(Invalid::new(
            field,
            format!("a phone number has 10 or 11 digits, not {digits}"),
        ));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_national_tax_agencys_own_corporate_number_is_valid() {
        // 国税庁's own number, 7000012050002, as it publishes it.
        assert_eq!(
            corporate_number("/n", "7000012050002").as_deref(),
            Ok("7000012050002")
        );
        assert_eq!(
            corporate_check_digit(&[0, 0, 0, 0, 1, 2, 0, 5, 0, 0, 0, 2]),
            7
        );
    }

    #[test]
    fn a_corporate_number_with_a_wrong_check_digit_or_length_is_refused() {
        let wrong = corporate_number("/corporate_number", "6000012050002").unwrap_err();
        assert_eq!(wrong.field, "/corporate_number");
        assert!(wrong.reason.contains("check digit"), "{wrong}");
        assert!(corporate_number("/n", "700001205000").is_err());
        assert!(corporate_number("/n", "7000-01-205-0002").is_err());
    }

    #[test]
    fn full_width_digits_are_read_as_digits() {
        assert_eq!(
            corporate_number("/n", "７００００１２０５０００２").as_deref(),
            Ok("7000012050002")
        );
        assert_eq!(
            provider_number("/n", "３２６０１９００１２").as_deref(),
            Ok("3260190012")
        );
    }

    #[test]
    fn a_provider_number_must_start_with_a_prefecture() {
        assert!(provider_number("/p", "4760190012").is_ok());
        for bad in [
            "4860190012",
            "0060190012",
            "326019001",
            "32601900123",
            "32601900a2",
        ] {
            let e = provider_number("/provider_number", bad).unwrap_err();
            assert_eq!(e.field, "/provider_number", "{bad}");
        }
    }

    #[test]
    fn insurer_and_insured_numbers_are_digits_of_their_length_kept_as_strings() {
        assert_eq!(
            insurer_number("/i", "３２２０３２").as_deref(),
            Ok("322032")
        );
        for bad in ["32203", "3220321", "482032", "002032", "32203a"] {
            assert_eq!(
                insurer_number("/insurer_number", bad).unwrap_err().field,
                "/insurer_number",
                "{bad}"
            );
        }
        assert_eq!(
            insured_number("/n", "0000123456").as_deref(),
            Ok("0000123456")
        );
        assert_eq!(
            insured_number("/n", "００００１２３４５６").as_deref(),
            Ok("0000123456")
        );
        for bad in ["000012345", "00001234567", "000012345x", ""] {
            assert_eq!(
                insured_number("/insured_number", bad).unwrap_err().field,
                "/insured_number",
                "{bad}"
            );
        }
    }

    #[test]
    fn phone_numbers_keep_their_hyphens_and_count_their_digits() {
        assert_eq!(
            phone("/phone", "0853-21-0000").as_deref(),
            Ok("0853-21-0000")
        );
        assert_eq!(phone("/phone", "09012345678").as_deref(), Ok("09012345678"));
        assert_eq!(
            phone("/phone", "０８５３－２１－００００").as_deref(),
            Ok("0853-21-0000")
        );
        assert_eq!(
            phone("/phone", "0853ー21ー0000").as_deref(),
            Ok("0853-21-0000")
        );
        for bad in [
            "",
            "853-21-0000",
            "0853-21-000",
            "090-1234-56789",
            "0853--21-0000",
            "-0853-21-0000",
            "0853 21 0000",
            "(0853)21-0000",
            "0853-21-0000 内線",
        ] {
            assert_eq!(phone("/phone", bad).unwrap_err().field, "/phone", "{bad:?}");
        }
    }
}
