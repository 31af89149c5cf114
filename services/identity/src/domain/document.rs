//! Documents of a patient's record: a blob already in the file store, with the consent
//! category that gates it and a title (personal, sealed). Whether the caller may attach one
//! is the access decision's call (write clinical content through consent), made by the
//! handler on the patient's current facts before this runs.

use consent::DataCategory;
use identity_api::events::IdentityEvent;
use identity_api::patients::{AttachDocument, DocumentPersonal};

use super::{Invalid, normalised_name};

/// The longest media type (RFC 6838 allows 127 characters on each side; one is plenty).
pub const MAX_MEDIA_TYPE_CHARS: usize = 127;

/// A SHA-256 digest as blobs are named: 64 lowercase hex characters.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A media type as the file store writes it: `type/subtype`, ASCII, no spaces, and the
/// parameters the store adds (`text/plain; charset=utf-8`). A document may have any type the
/// store accepted at upload; which those are is the store's decision, made from the bytes.
fn media_type(value: &str) -> Result<String, Invalid> {
    let invalid = || Invalid::new("/media_type", "a media type such as application/pdf");
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let value = value.trim();
    if value.len() > MAX_MEDIA_TYPE_CHARS {
        return Err(invalid());
    }
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => {}
        _ => return Err(invalid()),
    }
    let mut out = essence;
    for parameter in parts {
        match parameter.trim().split_once('=') {
            Some((name, v)) if token(name) && token(v) => {
                out.push_str("; ");
                out.push_str(&name.to_ascii_lowercase());
                out.push('=');
                out.push_str(&v.to_ascii_lowercase());
            }
            _ => return Err(invalid()),
        }
    }
    Ok(out)
}

/// Checks what is asked to be attached. Returns the normalised request: the digest in lower
/// case, the media type lower-cased, the title normalised.
pub fn checked(input: &AttachDocument) -> Result<AttachDocument, Invalid> {
    let sha256 = input.sha256.trim().to_ascii_lowercase();
    if !is_sha256_hex(&sha256) {
        return Err(Invalid::new(
            "/sha256",
            "the SHA-256 of an uploaded file: 64 hex digits",
        ));
    }
    let media_type = media_type(&input.media_type)?;
    if input.size == 0 {
        return Err(Invalid::new("/size", "a file of at least one byte"));
    }
    let title = normalised_name("/title", &input.title)?;
    Ok(AttachDocument {
        patient_id: input.patient_id.clone(),
        category: input.category,
        sha256,
        media_type,
        size: input.size,
        title,
        purpose: input.purpose,
    })
}

/// The event recording an attachment already checked and allowed.
pub fn attached(
    document_id: String,
    checked: AttachDocument,
    attached_by: String,
    site: Option<String>,
) -> IdentityEvent {
    IdentityEvent::DocumentAttached {
        patient_id: checked.patient_id,
        document_id,
        category: checked.category,
        sha256: checked.sha256,
        media_type: checked.media_type,
        size: checked.size,
        attached_by,
        site,
        personal: Some(DocumentPersonal {
            title: checked.title,
        }),
    }
}

/// The category a stored category name stands for.
pub fn category(name: &str) -> Option<DataCategory> {
    DataCategory::ALL
        .iter()
        .copied()
        .find(|c| c.as_str() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AttachDocument {
        AttachDocument {
            patient_id: "p".into(),
            category: DataCategory::Documents,
            sha256: "AB".repeat(32),
            media_type: " Application/PDF ".into(),
            size: 10,
            title: "退院時サマリー　2026年10月".into(),
            purpose: consent::Purpose::Care,
        }
    }

    #[test]
    fn an_attachment_is_normalised_and_its_title_travels_as_personal_data() {
        let ok = checked(&input()).unwrap();
        assert_eq!(ok.sha256, "ab".repeat(32));
        assert_eq!(ok.media_type, "application/pdf");
        assert_eq!(ok.title, "退院時サマリー 2026年10月");
        let event = attached("d1".into(), ok, "ns".into(), Some("nursing".into()));
        assert!(event.has_personal_field());
        assert!(matches!(
            event,
            IdentityEvent::DocumentAttached { personal: Some(ref p), .. } if p.title.starts_with("退院時")
        ));
    }

    #[test]
    fn every_type_the_file_store_accepts_can_be_attached_as_the_store_wrote_it() {
        for accepted in blob_store::MediaType::ALL {
            let mut d = input();
            d.media_type = accepted.as_str().into();
            assert_eq!(checked(&d).unwrap().media_type, accepted.as_str());
        }
        let mut d = input();
        d.media_type = "Text/Plain;Charset=UTF-8".into();
        assert_eq!(checked(&d).unwrap().media_type, "text/plain; charset=utf-8");
    }

    #[test]
    fn each_bad_field_of_an_attachment_is_named() {
        type Change = Box<dyn Fn(&mut AttachDocument)>;
        let cases: Vec<(&str, Change)> = vec![
            ("/sha256", Box::new(|d| d.sha256 = "x".into())),
            ("/sha256", Box::new(|d| d.sha256 = "g".repeat(64))),
            ("/media_type", Box::new(|d| d.media_type = "pdf".into())),
            ("/media_type", Box::new(|d| d.media_type = "a b/c".into())),
            (
                "/media_type",
                Box::new(|d| d.media_type = "text/plain; charset".into()),
            ),
            (
                "/media_type",
                Box::new(|d| d.media_type = "text/plain; a b=c".into()),
            ),
            ("/size", Box::new(|d| d.size = 0)),
            ("/title", Box::new(|d| d.title = "  ".into())),
        ];
        for (field, change) in cases {
            let mut d = input();
            change(&mut d);
            assert_eq!(checked(&d).unwrap_err().field, field);
        }
    }

    #[test]
    fn stored_category_names_read_back() {
        for c in DataCategory::ALL {
            assert_eq!(category(c.as_str()), Some(*c));
        }
        assert_eq!(category("nope"), None);
    }
}
