//! Events of the identity context: public, versioned contracts.
//!
//! Type names never change; a payload change bumps the schema version and adds an
//! upcaster, so every stored version stays readable.

use event_store::{DecodeError, EventContract, Upcaster, decode_tagged, encode_tagged};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::municipalities::{AreaKind, GroupKind};
use crate::organisations::{OrganisationKind, SiteKind};
use chrono::{DateTime, Utc};
use permissions::{Profession, Role};

/// A site's directory entry as recorded: every editable detail, normalised. Carried whole
/// by `SiteRegistered` and `SiteDetailsChanged` (which replaces the previous entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteEntry {
    /// 事業所番号 (10 ASCII digits), if it has one.
    pub provider_number: Option<String>,
    /// Name.
    pub name: String,
    /// Reading in katakana.
    pub name_kana: String,
    /// What kind of place it is.
    pub kind: SiteKind,
    /// Service type codes, sorted, each once.
    pub service_types: Vec<String>,
    /// Code of its municipality.
    pub home_municipality: String,
    /// Its area in that municipality, if given.
    pub area_id: Option<String>,
    /// Codes of the municipalities it serves, sorted, the home one included.
    pub municipalities_served: Vec<String>,
    /// Postal address.
    pub address: String,
    /// Phone (digits and hyphens as given).
    pub phone: String,
    /// FAX, if given.
    pub fax: Option<String>,
    /// A phone that answers day and night, if given.
    pub contact_24h: Option<String>,
}

/// Everything that happens in the identity context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum IdentityEvent {
    /// A municipality joined the region's register. v2 added `prefecture_code`.
    MunicipalityRegistered {
        /// Local government code.
        code: String,
        /// Name in kanji.
        name: String,
        /// Reading in katakana.
        name_kana: String,
        /// Two-digit prefecture code.
        prefecture_code: String,
    },
    /// A municipality's name changed.
    MunicipalityRenamed {
        /// Local government code.
        code: String,
        /// New name in kanji.
        name: String,
        /// New reading in katakana.
        name_kana: String,
    },
    /// An area (ward, daily-life area) was added below a municipality.
    AreaAdded {
        /// The municipality.
        code: String,
        /// The area's id.
        area_id: String,
        /// Ward or daily-life area.
        kind: AreaKind,
        /// Name in kanji.
        name: String,
        /// Reading in katakana.
        name_kana: String,
    },
    /// An area was removed.
    AreaRemoved {
        /// The municipality.
        code: String,
        /// The area's id.
        area_id: String,
    },
    /// A group of municipalities was formed.
    MunicipalityGroupFormed {
        /// The group's id.
        group_id: String,
        /// What holds it together.
        kind: GroupKind,
        /// Name in kanji.
        name: String,
        /// Reading in katakana.
        name_kana: String,
        /// Member codes.
        members: Vec<String>,
    },
    /// A municipality joined a group.
    MunicipalityJoinedGroup {
        /// The group.
        group_id: String,
        /// The municipality.
        code: String,
    },
    /// A municipality left a group.
    MunicipalityLeftGroup {
        /// The group.
        group_id: String,
        /// The municipality.
        code: String,
    },
    /// An organisation (法人) was registered.
    OrganisationRegistered {
        /// Its id (a UUIDv7, also its subject token).
        organisation_id: String,
        /// Name.
        name: String,
        /// Reading in katakana.
        name_kana: String,
        /// 法人番号 (13 ASCII digits), if it has one.
        corporate_number: Option<String>,
        /// What kind of legal entity it is.
        kind: OrganisationKind,
        /// Code of its municipality.
        home_municipality: String,
    },
    /// An organisation's name changed.
    OrganisationRenamed {
        /// The organisation.
        organisation_id: String,
        /// New name.
        name: String,
        /// New reading in katakana.
        name_kana: String,
    },
    /// A service site (事業所) of an organisation was registered.
    SiteRegistered {
        /// Its id (a UUIDv7, also its subject token).
        site_id: String,
        /// The organisation that runs it.
        organisation_id: String,
        /// Its details.
        entry: SiteEntry,
    },
    /// A site's details were replaced, all of them.
    SiteDetailsChanged {
        /// The site.
        site_id: String,
        /// Its new details.
        entry: SiteEntry,
    },
    /// A site closed; it stays readable, and nothing about it changes any more.
    SiteClosed {
        /// The site.
        site_id: String,
    },
    /// Someone was invited to join: the account waits for activation.
    MemberInvited {
        /// The member.
        member_id: String,
        /// Name in kanji.
        name: String,
        /// Reading in katakana.
        name_kana: String,
        /// Profession.
        profession: Profession,
        /// Roles.
        roles: Vec<Role>,
        /// Sites they work at.
        sites: Vec<String>,
        /// Their municipality.
        municipality: String,
        /// Until when the invitation can be activated.
        expires_at: DateTime<Utc>,
    },
    /// Someone joined through a coordination centre's invitation link (Izumo's model): a
    /// broadcast-only membership that the centre verifies before it opens.
    MemberSelfRegistered {
        /// The member.
        member_id: String,
        /// Name in kanji.
        name: String,
        /// Reading in katakana.
        name_kana: String,
        /// Profession.
        profession: Profession,
        /// The municipality of the link.
        municipality: String,
    },
    /// The coordination centre verified a self-registered member.
    MemberVerified {
        /// The member.
        member_id: String,
    },
    /// The member chose a username and password (the facts, never the secrets).
    MemberActivated {
        /// The member.
        member_id: String,
    },
    /// The member confirmed a second factor; the account can sign in.
    SecondFactorEnrolled {
        /// The member.
        member_id: String,
    },
    /// The member's password and second factor were reset (by the secretariat or the
    /// operator); every session ended and the member sets them again with a new token.
    CredentialsReset {
        /// The member.
        member_id: String,
        /// Why (as given by whoever reset).
        reason: String,
    },
    /// A member left; every session ended.
    MemberDeactivated {
        /// The member.
        member_id: String,
        /// Why.
        reason: String,
    },
    /// A sign-in succeeded.
    MemberSignedIn {
        /// The member.
        member_id: String,
        /// The new session.
        session_id: String,
        /// How they authenticated (RFC 8176 names).
        amr: Vec<String>,
    },
    /// A sign-in failed.
    SignInFailed {
        /// The member, when the username named one.
        member_id: Option<String>,
        /// What failed.
        reason: SignInFailure,
    },
    /// Too many failures: the account is locked for a while.
    MemberLockedOut {
        /// The member.
        member_id: String,
        /// Until when.
        until: DateTime<Utc>,
    },
    /// A session ended before its time (sign-out, refresh token reuse).
    SessionRevoked {
        /// The member.
        member_id: String,
        /// The session.
        session_id: String,
        /// Why: `signed_out`, `refresh_token_reused`.
        reason: String,
    },
    /// A machine client of a vendor or another platform was registered (its secret is
    /// kept hashed in the credential store, never here).
    IntegratorRegistered {
        /// The client id.
        client_id: String,
        /// The vendor or system, as shown to operators.
        name: String,
    },
    /// A machine client's access ended.
    IntegratorRevoked {
        /// The client id.
        client_id: String,
    },
    /// A new key signs access tokens from now on; the previous one stays published until
    /// its last token has expired.
    SigningKeyRotated {
        /// The new key's id.
        kid: String,
    },
}

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFailure {
    /// No account has this username.
    UnknownAccount,
    /// The password is wrong.
    WrongPassword,
    /// The second-factor code is wrong.
    WrongCode,
    /// The code was already used.
    ReplayedCode,
    /// The account is locked out.
    LockedOut,
    /// The account is not active (not enrolled, or left).
    NotActive,
}

/// Current schema versions.
const VERSIONS: &[(&str, u32)] = &[
    ("MunicipalityRegistered", 2),
    ("MunicipalityRenamed", 1),
    ("AreaAdded", 1),
    ("AreaRemoved", 1),
    ("MunicipalityGroupFormed", 1),
    ("MunicipalityJoinedGroup", 1),
    ("MunicipalityLeftGroup", 1),
    ("OrganisationRegistered", 1),
    ("OrganisationRenamed", 1),
    ("SiteRegistered", 1),
    ("SiteDetailsChanged", 1),
    ("SiteClosed", 1),
    ("MemberInvited", 1),
    ("MemberActivated", 1),
    ("MemberSelfRegistered", 1),
    ("MemberVerified", 1),
    ("SecondFactorEnrolled", 1),
    ("MemberDeactivated", 1),
    ("CredentialsReset", 1),
    ("MemberSignedIn", 1),
    ("SignInFailed", 1),
    ("MemberLockedOut", 1),
    ("SessionRevoked", 1),
    ("SigningKeyRotated", 1),
    ("IntegratorRegistered", 1),
    ("IntegratorRevoked", 1),
];

/// v1 of `MunicipalityRegistered` had no prefecture: it is the code's first two digits.
fn registered_v1_to_v2(mut payload: Value) -> Result<Value, String> {
    let code = payload
        .get("code")
        .and_then(Value::as_str)
        .ok_or("code is missing")?;
    let prefecture = code.get(..2).ok_or("code is too short")?.to_owned();
    payload["prefecture_code"] = Value::String(prefecture);
    Ok(payload)
}

const UPCASTERS: &[Upcaster] = &[Upcaster {
    event_type: "MunicipalityRegistered",
    from_version: 1,
    upcast: registered_v1_to_v2,
}];

impl EventContract for IdentityEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::MunicipalityRegistered { .. } => "MunicipalityRegistered",
            Self::MunicipalityRenamed { .. } => "MunicipalityRenamed",
            Self::AreaAdded { .. } => "AreaAdded",
            Self::AreaRemoved { .. } => "AreaRemoved",
            Self::MunicipalityGroupFormed { .. } => "MunicipalityGroupFormed",
            Self::MunicipalityJoinedGroup { .. } => "MunicipalityJoinedGroup",
            Self::MunicipalityLeftGroup { .. } => "MunicipalityLeftGroup",
            Self::OrganisationRegistered { .. } => "OrganisationRegistered",
            Self::OrganisationRenamed { .. } => "OrganisationRenamed",
            Self::SiteRegistered { .. } => "SiteRegistered",
            Self::SiteDetailsChanged { .. } => "SiteDetailsChanged",
            Self::SiteClosed { .. } => "SiteClosed",
            Self::MemberInvited { .. } => "MemberInvited",
            Self::MemberActivated { .. } => "MemberActivated",
            Self::MemberSelfRegistered { .. } => "MemberSelfRegistered",
            Self::MemberVerified { .. } => "MemberVerified",
            Self::SecondFactorEnrolled { .. } => "SecondFactorEnrolled",
            Self::MemberDeactivated { .. } => "MemberDeactivated",
            Self::CredentialsReset { .. } => "CredentialsReset",
            Self::MemberSignedIn { .. } => "MemberSignedIn",
            Self::SignInFailed { .. } => "SignInFailed",
            Self::MemberLockedOut { .. } => "MemberLockedOut",
            Self::SessionRevoked { .. } => "SessionRevoked",
            Self::SigningKeyRotated { .. } => "SigningKeyRotated",
            Self::IntegratorRegistered { .. } => "IntegratorRegistered",
            Self::IntegratorRevoked { .. } => "IntegratorRevoked",
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
        decode_tagged(event_type, schema_version, current, payload, UPCASTERS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v1_registration_reads_with_its_prefecture() {
        let v1 = serde_json::json!({"code": "322032", "name": "出雲市", "name_kana": "イズモシ"});
        let ev = IdentityEvent::decode("MunicipalityRegistered", 1, v1).unwrap();
        assert_eq!(
            ev,
            IdentityEvent::MunicipalityRegistered {
                code: "322032".into(),
                name: "出雲市".into(),
                name_kana: "イズモシ".into(),
                prefecture_code: "32".into()
            }
        );
    }

    fn entry() -> SiteEntry {
        SiteEntry {
            provider_number: Some("3260190012".into()),
            name: "出雲訪問看護ステーション".into(),
            name_kana: "イズモホウモンカンゴステーション".into(),
            kind: SiteKind::HomeVisitNursingStation,
            service_types: vec!["13".into(), "2A".into()],
            home_municipality: "322032".into(),
            area_id: Some("hirata".into()),
            municipalities_served: vec!["322032".into(), "322059".into()],
            address: "島根県出雲市今市町70".into(),
            phone: "0853-21-0000".into(),
            fax: Some("0853-21-0001".into()),
            contact_24h: Some("090-1234-5678".into()),
        }
    }

    #[test]
    fn every_event_round_trips_at_its_current_version() {
        let events = vec![
            IdentityEvent::MunicipalityRenamed {
                code: "1".into(),
                name: "a".into(),
                name_kana: "ア".into(),
            },
            IdentityEvent::AreaAdded {
                code: "1".into(),
                area_id: "x".into(),
                kind: AreaKind::Ward,
                name: "a".into(),
                name_kana: "ア".into(),
            },
            IdentityEvent::MunicipalityGroupFormed {
                group_id: "g".into(),
                kind: GroupKind::WideAreaUnion,
                name: "a".into(),
                name_kana: "ア".into(),
                members: vec!["1".into()],
            },
            IdentityEvent::OrganisationRegistered {
                organisation_id: "0190a0c0-0000-7000-8000-000000000001".into(),
                name: "医療法人出雲会".into(),
                name_kana: "イリョウホウジンイズモカイ".into(),
                corporate_number: Some("7000012050002".into()),
                kind: OrganisationKind::MedicalCorporation,
                home_municipality: "322032".into(),
            },
            IdentityEvent::OrganisationRegistered {
                organisation_id: "0190a0c0-0000-7000-8000-000000000002".into(),
                name: "消防本部".into(),
                name_kana: "ショウボウホンブ".into(),
                corporate_number: None,
                kind: OrganisationKind::Municipality,
                home_municipality: "322032".into(),
            },
            IdentityEvent::OrganisationRenamed {
                organisation_id: "0190a0c0-0000-7000-8000-000000000001".into(),
                name: "医療法人社団出雲会".into(),
                name_kana: "イリョウホウジンシャダンイズモカイ".into(),
            },
            IdentityEvent::SiteRegistered {
                site_id: "0190a0c0-0000-7000-8000-000000000003".into(),
                organisation_id: "0190a0c0-0000-7000-8000-000000000001".into(),
                entry: entry(),
            },
            IdentityEvent::SiteDetailsChanged {
                site_id: "0190a0c0-0000-7000-8000-000000000003".into(),
                entry: SiteEntry {
                    provider_number: None,
                    area_id: None,
                    fax: None,
                    contact_24h: None,
                    service_types: vec![],
                    kind: SiteKind::Other,
                    ..entry()
                },
            },
            IdentityEvent::SiteClosed {
                site_id: "0190a0c0-0000-7000-8000-000000000003".into(),
            },
        ];
        for ev in events {
            let t = ev.event_type();
            let v = IdentityEvent::current_version(t).unwrap();
            assert_eq!(IdentityEvent::decode(t, v, ev.to_payload()).unwrap(), ev);
        }
    }

    #[test]
    fn a_site_registration_is_stored_with_the_contracts_field_names() {
        let ev = IdentityEvent::SiteRegistered {
            site_id: "s".into(),
            organisation_id: "o".into(),
            entry: entry(),
        };
        let payload = ev.to_payload();
        assert_eq!(payload["organisation_id"], "o");
        assert_eq!(payload["entry"]["kind"], "home_visit_nursing_station");
        assert_eq!(payload["entry"]["contact_24h"], "090-1234-5678");
        assert_eq!(
            payload["entry"]["service_types"],
            serde_json::json!(["13", "2A"])
        );
    }

    #[test]
    fn an_unknown_event_type_is_reported() {
        assert!(matches!(
            IdentityEvent::decode("Nope", 1, Value::Null),
            Err(DecodeError::UnknownType(_))
        ));
    }
}
