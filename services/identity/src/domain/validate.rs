use japanese::{normalize_kana, normalize_name};

/// A field a person typed is not acceptable; `field` is its JSON pointer in the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    /// JSON pointer to the field.
    pub field: String,
    /// What is wrong, for a person.
    pub reason: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, reason: impl ToString) -> Self {
        Self {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

/// A display name in kanji (or kana, or latin), normalised.
pub fn normalised_name(field: &str, value: &str) -> Result<String, Invalid> {
    normalize_name(value).map_err(|e| Invalid::new(field, e))
}

/// A reading in kana, normalised to full-width katakana.
pub fn normalised_kana(field: &str, value: &str) -> Result<String, Invalid> {
    normalize_kana(value).map_err(|e| Invalid::new(field, e))
}

/// A stable id chosen by a person: 1–64 lowercase ASCII letters, digits and `-`, starting
/// with a letter or digit. Used as a subject token, so nothing else may pass.
pub fn slug(field: &str, value: &str) -> Result<String, Invalid> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(Invalid::new(
            field,
            "must be 1 to 64 lowercase ASCII letters, digits and '-', not starting with '-'",
        ))
    }
}
