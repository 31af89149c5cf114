//! The messaging stream's events: facts a care worker would name.

use consent::DataCategory;
use event_store::{DecodeError, EventContract, decode_tagged, encode_tagged};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote, as colleagues know them (a professional's name and site are not the
/// patient's personal data; the text is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostAuthor {
    pub member_id: String,
    pub name: String,
    pub profession: Option<String>,
    pub site_id: Option<String>,
    pub site_name: Option<String>,
}

/// A file attached to a post: its digest in the file store, with the size and type the
/// store decided from its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostAttachment {
    pub sha256: String,
    pub media_type: String,
    pub size: u64,
}

/// Every event of the messaging context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum MessagingEvent {
    /// A member of the care team posted to the patient's timeline.
    PostCreated {
        post_id: String,
        patient_id: String,
        author: PostAuthor,
        /// The data category the consent covered when it was posted.
        category: DataCategory,
        /// 至急.
        urgent: bool,
        /// 要返信.
        reply_requested: bool,
        /// The text, sealed with the patient's key (context [`POST_TEXT`]); unreadable once
        /// the patient is erased.
        text_sealed: String,
        /// The first post of the thread it answers, if it is a reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
        /// The text's search terms (its bigrams), each keyed with the patient's key: found
        /// by a search the patient's key keyed the same way, read by nobody.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        terms: Vec<i64>,
        /// Members of the team it is addressed to (@), as colleagues know them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<PostAuthor>,
        /// Files attached, as the file store holds them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<PostAttachment>,
    },
    /// Its author changed a post's text. The earlier texts stay in the stream and in the
    /// post's history.
    PostEdited {
        post_id: String,
        patient_id: String,
        editor: PostAuthor,
        /// The text's version now (the first text is 1).
        version: u32,
        /// The new text, sealed like the first (context [`POST_TEXT`]).
        text_sealed: String,
        /// The new text's search terms, keyed like the first's.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        terms: Vec<i64>,
    },
    /// The author or the secretariat withdrew a post (取り消し). Nothing is erased: the post
    /// stays, marked withdrawn.
    PostRetracted {
        post_id: String,
        patient_id: String,
        by: PostAuthor,
        /// Why, sealed with the patient's key (context [`POST_TEXT`]), if a reason was given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_sealed: Option<String>,
    },
    /// A member of the team read a post (既読).
    PostRead {
        post_id: String,
        patient_id: String,
        reader: PostAuthor,
    },
    /// A member of the team acknowledged a post with one tap (了解); they have read it too.
    PostAcknowledged {
        post_id: String,
        patient_id: String,
        reader: PostAuthor,
    },
    /// A board was opened for a municipality (or the region, `municipality` absent), for
    /// everyone or for the professions and sites named.
    BoardOpened {
        board_id: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        municipality: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        professions: Vec<String>,
        /// Sites of the audience, by id and name as the register knew them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sites: Vec<BoardSite>,
        /// For everyone, fire and police included.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        fire_and_police: bool,
        opened_by: PostAuthor,
    },
    /// A member posted to a board (not patient data: in clear).
    BoardPostCreated {
        post_id: String,
        board_id: String,
        author: PostAuthor,
        /// `announcement`, `emergency`, `road_closure` or `question`.
        kind: String,
        text: String,
        /// The first post of the thread it answers, if it is a reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
    },
    /// A broadcast was submitted for the coordination centre's review (version 1), or
    /// resubmitted revised after it was returned (the next version).
    BroadcastSubmitted {
        broadcast_id: String,
        municipality: String,
        version: u32,
        title: String,
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        professions: Vec<String>,
        by: PostAuthor,
    },
    /// The centre returned a submission with a reason.
    BroadcastReturned {
        broadcast_id: String,
        version: u32,
        reason: String,
        by: PostAuthor,
    },
    /// A broadcast went to its audience: sent by the centre itself, or a submission it
    /// published (this version's title and text).
    BroadcastPublished {
        broadcast_id: String,
        municipality: String,
        version: u32,
        title: String,
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        professions: Vec<String>,
        by: PostAuthor,
    },
    /// A member opened a consultation with their municipality's coordination centre.
    ConsultationOpened {
        consultation_id: String,
        municipality: String,
        subject: String,
        text: String,
        /// The patient it names, if any (the asker's access to them was decided and recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        patient_id: Option<String>,
        by: PostAuthor,
    },
    /// The asker or the centre wrote in a consultation.
    ConsultationAnswered {
        consultation_id: String,
        text: String,
        by: PostAuthor,
        from_centre: bool,
    },
    /// The centre assigned a consultation to one of its staff.
    ConsultationAssigned {
        consultation_id: String,
        assignee: PostAuthor,
        by: PostAuthor,
    },
    /// The asker or the centre closed a consultation.
    ConsultationClosed {
        consultation_id: String,
        by: PostAuthor,
    },
    /// A board's manager pinned a post to its top, or unpinned it.
    BoardPostPinned {
        post_id: String,
        board_id: String,
        pinned: bool,
        by: PostAuthor,
    },
}

/// A site a board's audience names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardSite {
    pub site_id: String,
    pub name: String,
}

/// The sealing context of a post's text.
pub const POST_TEXT: &str = "PostCreated";

const VERSIONS: &[(&str, u32)] = &[
    ("PostCreated", 1),
    ("PostEdited", 1),
    ("PostRetracted", 1),
    ("PostRead", 1),
    ("PostAcknowledged", 1),
    ("BoardOpened", 1),
    ("BoardPostCreated", 1),
    ("BoardPostPinned", 1),
    ("BroadcastSubmitted", 1),
    ("BroadcastReturned", 1),
    ("BroadcastPublished", 1),
    ("ConsultationOpened", 1),
    ("ConsultationAnswered", 1),
    ("ConsultationAssigned", 1),
    ("ConsultationClosed", 1),
];

impl EventContract for MessagingEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::PostCreated { .. } => "PostCreated",
            Self::PostEdited { .. } => "PostEdited",
            Self::PostRetracted { .. } => "PostRetracted",
            Self::PostRead { .. } => "PostRead",
            Self::PostAcknowledged { .. } => "PostAcknowledged",
            Self::BoardOpened { .. } => "BoardOpened",
            Self::BoardPostCreated { .. } => "BoardPostCreated",
            Self::BoardPostPinned { .. } => "BoardPostPinned",
            Self::BroadcastSubmitted { .. } => "BroadcastSubmitted",
            Self::BroadcastReturned { .. } => "BroadcastReturned",
            Self::BroadcastPublished { .. } => "BroadcastPublished",
            Self::ConsultationOpened { .. } => "ConsultationOpened",
            Self::ConsultationAnswered { .. } => "ConsultationAnswered",
            Self::ConsultationAssigned { .. } => "ConsultationAssigned",
            Self::ConsultationClosed { .. } => "ConsultationClosed",
        }
    }

    fn current_version(event_type: &str) -> Option<u32> {
        VERSIONS
            .iter()
            .find(|(t, _)| *t == event_type)
            .map(|(_, v)| *v)
    }

    fn to_payload(&self) -> Value {
        encode_tagged(self).1
    }

    fn decode(event_type: &str, schema_version: u32, payload: Value) -> Result<Self, DecodeError> {
        let current = Self::current_version(event_type)
            .ok_or_else(|| DecodeError::UnknownType(event_type.to_owned()))?;
        decode_tagged(event_type, schema_version, current, payload, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_round_trips_through_its_payload() {
        let event = MessagingEvent::PostCreated {
            post_id: "p1".into(),
            patient_id: "pt".into(),
            author: PostAuthor {
                member_id: "m".into(),
                name: "看護 花子".into(),
                profession: Some("nurse".into()),
                site_id: Some("s".into()),
                site_name: Some("ひかり訪問看護".into()),
            },
            category: DataCategory::CareRecords,
            urgent: true,
            reply_requested: false,
            text_sealed: "sealed".into(),
            reply_to: None,
            terms: vec![42],
            mentions: Vec::new(),
            attachments: vec![PostAttachment {
                sha256: "ab".repeat(32),
                media_type: "image/jpeg".into(),
                size: 1234,
            }],
        };
        let payload = event.to_payload();
        assert!(payload.get("text").is_none(), "no plain text: {payload}");
        let back = MessagingEvent::decode("PostCreated", 1, payload).unwrap();
        assert_eq!(back, event);
    }
}
