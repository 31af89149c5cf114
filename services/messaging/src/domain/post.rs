//! A post to a patient's timeline, checked before anything is asked or stored.

use consent::{DataCategory, Purpose};
use messaging_api::timeline::{MAX_TEXT_CHARS, NewPost};

/// A post that is not one, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: &'static str,
    pub reason: String,
}

/// A post as it will be decided and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub text: String,
    pub category: DataCategory,
    pub purpose: Purpose,
    pub urgent: bool,
    pub reply_requested: bool,
    /// The post it answers, as sent (the service finds its thread).
    pub reply_to: Option<String>,
}

/// Checks a post: some text (not only spaces, at most [`MAX_TEXT_CHARS`]), written for care
/// or in an emergency; the category defaults to care records, the record of daily care.
pub fn checked(post: NewPost) -> Result<Post, Invalid> {
    // Trailing spaces and blank lines are noise; line breaks inside are the writer's.
    let text = post.text.trim().to_owned();
    if text.is_empty() {
        return Err(Invalid {
            field: "/text",
            reason: "write something to post".into(),
        });
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Invalid {
            field: "/text",
            reason: format!("at most {MAX_TEXT_CHARS} characters; attach a document for more"),
        });
    }
    let purpose = post.purpose.unwrap_or(Purpose::Care);
    if !matches!(purpose, Purpose::Care | Purpose::Emergency) {
        return Err(Invalid {
            field: "/purpose",
            reason: "a post is written for care, or in an emergency".into(),
        });
    }
    let reply_to = match post.reply_to.as_deref().map(uuid::Uuid::try_parse) {
        None => None,
        Some(Ok(id)) => Some(id.to_string()),
        Some(Err(_)) => {
            return Err(Invalid {
                field: "/reply_to",
                reason: "the id of the post you answer (a UUID)".into(),
            });
        }
    };
    Ok(Post {
        reply_to,
        text,
        category: post.category.unwrap_or(DataCategory::CareRecords),
        purpose,
        urgent: post.urgent,
        reply_requested: post.reply_requested,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text: &str) -> NewPost {
        NewPost {
            text: text.into(),
            category: None,
            urgent: false,
            reply_requested: false,
            purpose: None,
            reply_to: None,
        }
    }

    #[test]
    fn a_report_is_a_care_record_for_care_unless_said_otherwise() {
        let checked = checked(post("  本日訪問、変わりなし。\n")).unwrap();
        assert_eq!(checked.text, "本日訪問、変わりなし。");
        assert_eq!(checked.category, DataCategory::CareRecords);
        assert_eq!(checked.purpose, Purpose::Care);
        let mut urgent = post("褥瘡が悪化");
        urgent.urgent = true;
        urgent.category = Some(DataCategory::PhotosVideo);
        let checked = super::checked(urgent).unwrap();
        assert!(checked.urgent);
        assert_eq!(checked.category, DataCategory::PhotosVideo);
    }

    #[test]
    fn an_empty_or_endless_post_is_refused_at_its_text() {
        for text in ["", "  \n\t "] {
            assert_eq!(checked(post(text)).unwrap_err().field, "/text");
        }
        assert!(checked(post(&"あ".repeat(MAX_TEXT_CHARS))).is_ok());
        assert_eq!(
            checked(post(&"あ".repeat(MAX_TEXT_CHARS + 1)))
                .unwrap_err()
                .field,
            "/text"
        );
        let mut audit = post("監査");
        audit.purpose = Some(Purpose::Audit);
        assert_eq!(checked(audit).unwrap_err().field, "/purpose");
    }
}
