//! A post to a patient's timeline, checked before anything is asked or stored.

use consent::{DataCategory, Purpose};
use messaging_api::timeline::{MAX_ATTACHMENTS, MAX_TEXT_CHARS, MAX_VERSIONS, NewPost};

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
    /// Members it is addressed to (@), each once, as UUIDs (the service finds them on the
    /// team).
    pub mentions: Vec<String>,
    /// Files attached, each once, by digest (the service finds them in the file store).
    pub attachments: Vec<String>,
}

/// Each attachment's field, for a problem that names it.
pub const ATTACHMENT_FIELDS: [&str; MAX_ATTACHMENTS] = [
    "/attachments/0",
    "/attachments/1",
    "/attachments/2",
    "/attachments/3",
    "/attachments/4",
    "/attachments/5",
    "/attachments/6",
    "/attachments/7",
    "/attachments/8",
    "/attachments/9",
];

/// The most members one post may address.
pub const MAX_MENTIONS: usize = 20;

/// Each mention's field, for a problem that names it.
pub const MENTION_FIELDS: [&str; MAX_MENTIONS] = [
    "/mentions/0",
    "/mentions/1",
    "/mentions/2",
    "/mentions/3",
    "/mentions/4",
    "/mentions/5",
    "/mentions/6",
    "/mentions/7",
    "/mentions/8",
    "/mentions/9",
    "/mentions/10",
    "/mentions/11",
    "/mentions/12",
    "/mentions/13",
    "/mentions/14",
    "/mentions/15",
    "/mentions/16",
    "/mentions/17",
    "/mentions/18",
    "/mentions/19",
];

/// A post's text: not only spaces, at most [`MAX_TEXT_CHARS`]. Trailing spaces and blank
/// lines are noise; line breaks inside are the writer's.
pub fn text(raw: &str) -> Result<String, Invalid> {
    let text = raw.trim().to_owned();
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
    Ok(text)
}

/// Checks a post: some text or a file, written for care or in an emergency; the category
/// defaults to care records, the record of daily care.
pub fn checked(post: NewPost) -> Result<Post, Invalid> {
    let attachments = attachments(&post.attachments)?;
    // A photo may say it all; without one, there must be words.
    let text = if attachments.is_empty() || !post.text.trim().is_empty() {
        text(&post.text)?
    } else {
        String::new()
    };
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
    if post.mentions.len() > MAX_MENTIONS {
        return Err(Invalid {
            field: "/mentions",
            reason: format!(
                "address at most {MAX_MENTIONS} members; post to the whole team instead"
            ),
        });
    }
    let mut mentions: Vec<String> = Vec::new();
    for (i, id) in post.mentions.iter().enumerate() {
        let Ok(id) = uuid::Uuid::try_parse(id) else {
            return Err(Invalid {
                field: MENTION_FIELDS[i],
                reason: "a member id (a UUID)".into(),
            });
        };
        let id = id.to_string();
        if !mentions.contains(&id) {
            mentions.push(id);
        }
    }
    Ok(Post {
        attachments,
        mentions,
        reply_to,
        text,
        category: post.category.unwrap_or(DataCategory::CareRecords),
        purpose,
        urgent: post.urgent,
        reply_requested: post.reply_requested,
    })
}

/// The files of a post: at most [`MAX_ATTACHMENTS`], each a SHA-256 digest as the file
/// store names them (case aside), each once.
fn attachments(sent: &[String]) -> Result<Vec<String>, Invalid> {
    if sent.len() > MAX_ATTACHMENTS {
        return Err(Invalid {
            field: "/attachments",
            reason: format!("attach at most {MAX_ATTACHMENTS} files to one post"),
        });
    }
    let mut out: Vec<String> = Vec::new();
    for (i, digest) in sent.iter().enumerate() {
        let digest = digest.to_ascii_lowercase();
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Invalid {
                field: ATTACHMENT_FIELDS[i],
                reason: "a file's SHA-256, as the upload answered it (64 hex characters)".into(),
            });
        }
        if !out.contains(&digest) {
            out.push(digest);
        }
    }
    Ok(out)
}

/// A post as edits and withdrawals see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub author: String,
    /// How many texts it has had (1 until edited).
    pub versions: u32,
    pub retracted: bool,
}

/// Why a post may not be changed as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("only its author edits a post")]
    NotTheAuthor,
    #[error("only its author or the secretariat of the patient's municipality withdraws a post")]
    NeitherAuthorNorSecretariat,
    #[error("the post was withdrawn; write a new one")]
    Withdrawn,
    #[error("the post has {MAX_VERSIONS} texts already; write a new one")]
    TooManyVersions,
    #[error("{0}")]
    Invalid(Invalid),
}

/// An edit by `editor`: only the author's, of a post not withdrawn, within
/// [`MAX_VERSIONS`]. Answers the new text's version.
pub fn edit(post: &Standing, editor: &str, new_text: &str) -> Result<(u32, String), Refused> {
    if post.author != editor {
        return Err(Refused::NotTheAuthor);
    }
    if post.retracted {
        return Err(Refused::Withdrawn);
    }
    if post.versions >= MAX_VERSIONS {
        return Err(Refused::TooManyVersions);
    }
    let text = text(new_text).map_err(Refused::Invalid)?;
    Ok((post.versions + 1, text))
}

/// Who withdraws a post, which decides how the access is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retractor {
    /// Its author: a write of the post's category, through the consent.
    Author,
    /// The secretariat, organising without reading: the registration data, for
    /// administration. They must say why (the team reads it in place of the post).
    Secretariat,
}

/// The longest reason for a withdrawal, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A withdrawal by the author (`is_author`) or the secretariat: who it is, and the reason
/// as it will be kept (trimmed; none if only spaces).
pub fn retraction(
    is_author: bool,
    is_secretariat: bool,
    reason: Option<&str>,
) -> Result<(Retractor, Option<String>), Refused> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(Refused::Invalid(Invalid {
            field: "/reason",
            reason: format!("at most {MAX_REASON_CHARS} characters"),
        }));
    }
    let by = if is_author {
        Retractor::Author
    } else if is_secretariat {
        if reason.is_none() {
            return Err(Refused::Invalid(Invalid {
                field: "/reason",
                reason: "say why the post is withdrawn: the team reads it in its place".into(),
            }));
        }
        Retractor::Secretariat
    } else {
        return Err(Refused::NeitherAuthorNorSecretariat);
    };
    Ok((by, reason.map(str::to_owned)))
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
            mentions: Vec::new(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn a_photo_may_go_without_words_and_each_file_is_named_once_by_its_digest() {
        let photo = "AB".repeat(32);
        let mut only_a_photo = post("  ");
        only_a_photo.attachments = vec![photo.clone(), photo.to_ascii_lowercase()];
        let checked = checked(only_a_photo).unwrap();
        assert_eq!(checked.text, "");
        assert_eq!(checked.attachments, vec!["ab".repeat(32)]);

        let mut not_a_digest = post("写真");
        not_a_digest.attachments = vec!["ab".repeat(32), "photo.jpg".into()];
        assert_eq!(
            super::checked(not_a_digest).unwrap_err().field,
            "/attachments/1"
        );
        let mut too_many = post("写真");
        too_many.attachments = (0..=MAX_ATTACHMENTS).map(|i| format!("{i:064x}")).collect();
        assert_eq!(super::checked(too_many).unwrap_err().field, "/attachments");
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

    fn standing(author: &str) -> Standing {
        Standing {
            author: author.into(),
            versions: 1,
            retracted: false,
        }
    }

    #[test]
    fn only_the_author_edits_a_post_still_standing_and_each_edit_is_the_next_version() {
        let post = standing("nurse");
        assert_eq!(
            edit(&post, "nurse", " 訂正：右踵の褥瘡 ").unwrap(),
            (2, "訂正：右踵の褥瘡".to_owned())
        );
        assert_eq!(
            edit(&post, "pharmacist", "訂正"),
            Err(Refused::NotTheAuthor)
        );
        assert!(matches!(
            edit(&post, "nurse", "  "),
            Err(Refused::Invalid(Invalid { field: "/text", .. }))
        ));
        let withdrawn = Standing {
            retracted: true,
            ..post.clone()
        };
        assert_eq!(edit(&withdrawn, "nurse", "訂正"), Err(Refused::Withdrawn));
        let full = Standing {
            versions: MAX_VERSIONS,
            ..post
        };
        assert_eq!(edit(&full, "nurse", "訂正"), Err(Refused::TooManyVersions));
    }

    #[test]
    fn the_author_withdraws_freely_the_secretariat_with_a_reason_and_nobody_else() {
        assert_eq!(
            retraction(true, false, None).unwrap(),
            (Retractor::Author, None)
        );
        assert_eq!(
            retraction(false, true, Some(" 別の患者さんへの投稿 ")).unwrap(),
            (
                Retractor::Secretariat,
                Some("別の患者さんへの投稿".to_owned())
            )
        );
        assert!(matches!(
            retraction(false, true, Some("  ")),
            Err(Refused::Invalid(Invalid {
                field: "/reason",
                ..
            }))
        ));
        assert_eq!(
            retraction(false, false, Some("理由")),
            Err(Refused::NeitherAuthorNorSecretariat)
        );
        let long = "あ".repeat(MAX_REASON_CHARS + 1);
        assert!(matches!(
            retraction(true, false, Some(&long)),
            Err(Refused::Invalid(Invalid {
                field: "/reason",
                ..
            }))
        ));
    }
}
