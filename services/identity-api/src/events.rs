//! Events of the identity context: public, versioned contracts.
//!
//! Type names never change; a payload change bumps the schema version and adds an
//! upcaster, so every stored version stays readable.

use event_store::{DecodeError, EventContract, Upcaster, decode_tagged, encode_tagged};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::municipalities::{AreaKind, GroupKind};
use crate::organisations::{OrganisationKind, SiteKind};
use crate::patients::{
    BreakGlassEndReason, CareLevelCertification, ConsentPersonal, Contact24h, DocumentPersonal,
    EndOfCareReason, FamilyContact, NewAddress, PERSONAL_FIELD, PatientPersonal, sealed_personal,
};
use chrono::{DateTime, NaiveDate, Utc};
use consent::{BreakGlassGrant, ConsentTerms, DataCategory, TeamMembership};
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
    /// A member's roles were changed by someone who manages them; access tokens issued
    /// before it stop working (they carry the old roles).
    MemberRolesChanged {
        /// The member.
        member_id: String,
        /// The roles they hold from now on (sorted, no duplicates).
        roles: Vec<Role>,
        /// The roles they held until now.
        previous_roles: Vec<Role>,
        /// Why (as given by whoever changed them).
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

    // ── patients (aggregate `patient`: registration, consents, team, break-glass) ────────
    // Personal data sits in `personal` only (see `crate::patients`): `None` once the
    // patient's key has been destroyed.
    /// A patient joined the network, registered by a site of the team-to-be or the
    /// secretariat.
    PatientRegistered {
        /// The patient (a UUIDv7, also the subject token).
        patient_id: String,
        /// Home municipality code.
        home_municipality: String,
        /// 保険者番号 (6 ASCII digits): the insurer, not the person.
        insurer_number: String,
        /// The registering site; `None` when the secretariat registered the patient.
        registering_site: Option<String>,
        /// The member who registered them.
        registered_by: String,
        /// Patients of the municipality with the same reading and date of birth: the
        /// registrar was warned and went ahead.
        possible_duplicates: Vec<String>,
        /// Name, reading, date of birth, sex, address, insured number, care level.
        #[serde(default)]
        personal: Option<PatientPersonal>,
    },
    /// A patient moved to another municipality (the subject stays the same).
    PatientMoved {
        /// The patient.
        patient_id: String,
        /// The previous home municipality.
        from_municipality: String,
        /// The new home municipality.
        to_municipality: String,
        /// The new insurer's number.
        insurer_number: String,
        /// The day of the move.
        effective_on: NaiveDate,
        /// The new address and insured number.
        #[serde(default)]
        personal: Option<NewAddress>,
    },
    /// A care level was certified (or re-certified).
    CareLevelCertified {
        /// The patient.
        patient_id: String,
        /// The level and its validity period.
        #[serde(default)]
        personal: Option<CareLevelCertification>,
    },
    /// Care ended: the team is closed and nobody but auditors reaches the patient any more.
    PatientCareEnded {
        /// The patient.
        patient_id: String,
        /// Why.
        reason: EndOfCareReason,
        /// When it happened (may be earlier than recorded).
        effective_at: DateTime<Utc>,
    },
    /// The receiving site recorded a signed consent form: version 1, pending until the
    /// secretariat verifies it.
    ConsentRecorded {
        /// The patient.
        patient_id: String,
        /// The consent (a UUIDv7).
        consent_id: String,
        /// Always 1.
        version: u32,
        /// What it says.
        terms: ConsentTerms,
        /// The proxy's name, if a proxy gave it.
        #[serde(default)]
        personal: Option<ConsentPersonal>,
    },
    /// An amendment was recorded as the next version. One that only narrows takes effect at
    /// once (`in_force_at_once`); one that widens is pending until verified, and the version
    /// before it stays in force meanwhile.
    ConsentAmended {
        /// The patient.
        patient_id: String,
        /// The consent.
        consent_id: String,
        /// The new version.
        version: u32,
        /// What it says now, whole.
        terms: ConsentTerms,
        /// It only narrows the version in force, and replaced it at once.
        in_force_at_once: bool,
        /// The proxy's name, if a proxy gave it.
        #[serde(default)]
        personal: Option<ConsentPersonal>,
    },
    /// The secretariat verified a pending version and activated it; earlier versions are
    /// superseded.
    ConsentActivated {
        /// The patient.
        patient_id: String,
        /// The consent.
        consent_id: String,
        /// The version.
        version: u32,
        /// The secretariat member who verified it.
        verified_by: String,
    },
    /// The secretariat refused a pending version.
    ConsentRejected {
        /// The patient.
        patient_id: String,
        /// The consent.
        consent_id: String,
        /// The version.
        version: u32,
        /// Why (for the receiving site).
        reason: String,
    },
    /// The patient withdrew a consent: every version closes at once.
    ConsentWithdrawn {
        /// The patient.
        patient_id: String,
        /// The consent.
        consent_id: String,
        /// When the patient withdrew it (it may have been told earlier than recorded).
        effective_at: DateTime<Utc>,
        /// The member who recorded it.
        recorded_by: String,
    },
    /// A version's last valid day passed (recorded by the expiry reactor; the decision
    /// already refuses from the dates).
    ConsentExpired {
        /// The patient.
        patient_id: String,
        /// The consent.
        consent_id: String,
        /// The version.
        version: u32,
    },
    /// A seat was added to the care team.
    TeamMemberAdded {
        /// The patient.
        patient_id: String,
        /// The seat.
        membership: TeamMembership,
        /// Who added it.
        added_by: String,
    },
    /// A seat was removed from the care team.
    TeamMemberRemoved {
        /// The patient.
        patient_id: String,
        /// The seat.
        membership_id: String,
        /// Off the team from.
        effective_at: DateTime<Utc>,
        /// Who removed it.
        removed_by: String,
    },
    /// The team's 24-hour contact was set or cleared.
    Contact24hChanged {
        /// The patient.
        patient_id: String,
        /// The contact (`None`: cleared).
        contact: Option<Contact24h>,
    },
    /// A family contact was added.
    FamilyContactAdded {
        /// The patient.
        patient_id: String,
        /// The contact's id.
        contact_id: String,
        /// Name, relationship, phone.
        #[serde(default)]
        personal: Option<FamilyContact>,
    },
    /// A family contact was removed.
    FamilyContactRemoved {
        /// The patient.
        patient_id: String,
        /// The contact's id.
        contact_id: String,
    },
    /// A clinical professional opened the patient without consent in an emergency: flagged
    /// to the coordination centre and auditors, reported to the patient, ends by itself.
    BreakGlassOpened {
        /// The patient.
        patient_id: String,
        /// The grant (member, reason, opened, expires).
        grant: BreakGlassGrant,
        /// The site the member worked from, if one.
        site: Option<String>,
    },
    /// A break-glass grant ended: recorded once, by the identity service, after its
    /// `expires_at` passed. The decision never waits for it (a grant past its `expires_at`
    /// opens nothing); it tells the coordination centre, auditors and the patient's history
    /// that the exception is over.
    BreakGlassEnded {
        /// The patient.
        patient_id: String,
        /// The grant that ended.
        grant_id: String,
        /// Who held it.
        member_id: String,
        /// When it ended (the grant's `expires_at`, not when the end was recorded).
        ended_at: DateTime<Utc>,
        /// Why it ended.
        why: BreakGlassEndReason,
    },
    /// A document (a blob in the file store) was attached to the patient's record, through
    /// consent for its category.
    DocumentAttached {
        /// The patient.
        patient_id: String,
        /// The document (a UUIDv7).
        document_id: String,
        /// The category of data it holds (what consent must open to read it).
        category: DataCategory,
        /// SHA-256 of the blob, lowercase hex.
        sha256: String,
        /// Media type.
        media_type: String,
        /// Size in bytes.
        size: u64,
        /// The member who attached it.
        attached_by: String,
        /// The site they attached it from (the team seat's site, when through consent).
        site: Option<String>,
        /// The title.
        #[serde(default)]
        personal: Option<DocumentPersonal>,
    },
    /// The patient's key was destroyed: every personal field of their events reads as
    /// absent from now on, in every replay. Carries no personal data itself.
    PatientErased {
        /// The patient.
        patient_id: String,
        /// Why (the patient asked, the retention period ended).
        reason: String,
        /// Who erased it.
        erased_by: String,
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

impl IdentityEvent {
    /// The patient this event is about (its subject is the patient's), if any.
    pub fn patient_id(&self) -> Option<&str> {
        match self {
            Self::PatientRegistered { patient_id, .. }
            | Self::PatientMoved { patient_id, .. }
            | Self::CareLevelCertified { patient_id, .. }
            | Self::PatientCareEnded { patient_id, .. }
            | Self::ConsentRecorded { patient_id, .. }
            | Self::ConsentAmended { patient_id, .. }
            | Self::ConsentActivated { patient_id, .. }
            | Self::ConsentRejected { patient_id, .. }
            | Self::ConsentWithdrawn { patient_id, .. }
            | Self::ConsentExpired { patient_id, .. }
            | Self::TeamMemberAdded { patient_id, .. }
            | Self::TeamMemberRemoved { patient_id, .. }
            | Self::Contact24hChanged { patient_id, .. }
            | Self::FamilyContactAdded { patient_id, .. }
            | Self::FamilyContactRemoved { patient_id, .. }
            | Self::BreakGlassOpened { patient_id, .. }
            | Self::BreakGlassEnded { patient_id, .. }
            | Self::DocumentAttached { patient_id, .. }
            | Self::PatientErased { patient_id, .. } => Some(patient_id),
            _ => None,
        }
    }

    /// Does this type of event keep personal data in its `personal` field
    /// ([`crate::patients::PERSONAL_FIELD`]), to be sealed with the patient's key?
    pub fn has_personal_field(&self) -> bool {
        matches!(
            self,
            Self::PatientRegistered { .. }
                | Self::PatientMoved { .. }
                | Self::CareLevelCertified { .. }
                | Self::ConsentRecorded { .. }
                | Self::ConsentAmended { .. }
                | Self::FamilyContactAdded { .. }
                | Self::DocumentAttached { .. }
        )
    }

    /// The event as a replay reads it once the patient's key is destroyed: the same, with
    /// `personal` gone.
    pub fn without_personal(mut self) -> Self {
        match &mut self {
            Self::PatientRegistered { personal, .. } => *personal = None,
            Self::PatientMoved { personal, .. } => *personal = None,
            Self::CareLevelCertified { personal, .. } => *personal = None,
            Self::ConsentRecorded { personal, .. } | Self::ConsentAmended { personal, .. } => {
                *personal = None
            }
            Self::FamilyContactAdded { personal, .. } => *personal = None,
            Self::DocumentAttached { personal, .. } => *personal = None,
            _ => {}
        }
        self
    }
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
    ("MemberRolesChanged", 1),
    ("CredentialsReset", 1),
    ("MemberSignedIn", 1),
    ("SignInFailed", 1),
    ("MemberLockedOut", 1),
    ("SessionRevoked", 1),
    ("SigningKeyRotated", 1),
    ("IntegratorRegistered", 1),
    ("IntegratorRevoked", 1),
    ("PatientRegistered", 1),
    ("PatientMoved", 1),
    ("CareLevelCertified", 1),
    ("PatientCareEnded", 1),
    ("ConsentRecorded", 1),
    ("ConsentAmended", 1),
    ("ConsentActivated", 1),
    ("ConsentRejected", 1),
    ("ConsentWithdrawn", 1),
    ("ConsentExpired", 1),
    ("TeamMemberAdded", 1),
    ("TeamMemberRemoved", 1),
    ("Contact24hChanged", 1),
    ("FamilyContactAdded", 1),
    ("FamilyContactRemoved", 1),
    ("BreakGlassOpened", 1),
    ("BreakGlassEnded", 1),
    ("DocumentAttached", 1),
    ("PatientErased", 1),
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
            Self::MemberRolesChanged { .. } => "MemberRolesChanged",
            Self::CredentialsReset { .. } => "CredentialsReset",
            Self::MemberSignedIn { .. } => "MemberSignedIn",
            Self::SignInFailed { .. } => "SignInFailed",
            Self::MemberLockedOut { .. } => "MemberLockedOut",
            Self::SessionRevoked { .. } => "SessionRevoked",
            Self::SigningKeyRotated { .. } => "SigningKeyRotated",
            Self::IntegratorRegistered { .. } => "IntegratorRegistered",
            Self::IntegratorRevoked { .. } => "IntegratorRevoked",
            Self::PatientRegistered { .. } => "PatientRegistered",
            Self::PatientMoved { .. } => "PatientMoved",
            Self::CareLevelCertified { .. } => "CareLevelCertified",
            Self::PatientCareEnded { .. } => "PatientCareEnded",
            Self::ConsentRecorded { .. } => "ConsentRecorded",
            Self::ConsentAmended { .. } => "ConsentAmended",
            Self::ConsentActivated { .. } => "ConsentActivated",
            Self::ConsentRejected { .. } => "ConsentRejected",
            Self::ConsentWithdrawn { .. } => "ConsentWithdrawn",
            Self::ConsentExpired { .. } => "ConsentExpired",
            Self::TeamMemberAdded { .. } => "TeamMemberAdded",
            Self::TeamMemberRemoved { .. } => "TeamMemberRemoved",
            Self::Contact24hChanged { .. } => "Contact24hChanged",
            Self::FamilyContactAdded { .. } => "FamilyContactAdded",
            Self::FamilyContactRemoved { .. } => "FamilyContactRemoved",
            Self::BreakGlassOpened { .. } => "BreakGlassOpened",
            Self::BreakGlassEnded { .. } => "BreakGlassEnded",
            Self::DocumentAttached { .. } => "DocumentAttached",
            Self::PatientErased { .. } => "PatientErased",
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

    /// Reads a stored event. A sealed personal field (`{"sealed": …}`) reads as absent:
    /// only the identity service holds the keys, and it opens the field itself before
    /// decoding where it needs it.
    fn decode(
        event_type: &str,
        schema_version: u32,
        mut payload: Value,
    ) -> Result<Self, DecodeError> {
        let current = Self::current_version(event_type)
            .ok_or_else(|| DecodeError::UnknownType(event_type.to_owned()))?;
        if sealed_personal(&payload).is_some() {
            payload[PERSONAL_FIELD] = Value::Null;
        }
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
            IdentityEvent::MemberRolesChanged {
                member_id: "0190a0c0-0000-7000-8000-000000000004".into(),
                roles: vec![Role::Professional, Role::SiteAdmin],
                previous_roles: vec![Role::Professional],
                reason: "became the site's administrator".into(),
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

    fn patient_events() -> Vec<IdentityEvent> {
        use crate::patients::*;
        use consent::{CategorySet, ConsentForm, ConsentModel, GivenBy, ObtainedBy, TeamPart};
        let at = DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let terms = ConsentTerms {
            model: ConsentModel::AllParticipatingSites {
                excluded: vec!["pharmacy".into()],
            },
            categories: CategorySet::ALL,
            valid_from: day,
            valid_until: None,
            family_information: true,
            form: ConsentForm::Written,
            given_by: GivenBy::Proxy {
                relationship: consent::FamilyRelationship::Child,
            },
            signed_on: day,
            obtained_by: ObtainedBy {
                site: "nursing".into(),
                member: "ns".into(),
            },
            scanned_form: Some("ab".repeat(32)),
        };
        let p = || "0190a0c0-0000-7000-8000-0000000000aa".to_owned();
        vec![
            IdentityEvent::PatientRegistered {
                patient_id: p(),
                home_municipality: "322032".into(),
                insurer_number: "322032".into(),
                registering_site: Some("care-office".into()),
                registered_by: "cm".into(),
                possible_duplicates: vec![],
                personal: Some(PatientPersonal {
                    name: "出雲 太郎".into(),
                    name_kana: "イズモ タロウ".into(),
                    date_of_birth: NaiveDate::from_ymd_opt(1938, 5, 3).unwrap(),
                    sex: Sex::Male,
                    address: "島根県出雲市今市町1-1".into(),
                    insured_number: "0000123456".into(),
                    care_level: Some(CareLevelCertification {
                        level: CareLevel::CareLevel3,
                        valid_from: day,
                        valid_until: NaiveDate::from_ymd_opt(2027, 9, 30).unwrap(),
                    }),
                }),
            },
            IdentityEvent::PatientMoved {
                patient_id: p(),
                from_municipality: "322032".into(),
                to_municipality: "322059".into(),
                insurer_number: "322059".into(),
                effective_on: day,
                personal: Some(NewAddress {
                    address: "島根県大田市大田町1".into(),
                    insured_number: "0000654321".into(),
                }),
            },
            IdentityEvent::CareLevelCertified {
                patient_id: p(),
                personal: None,
            },
            IdentityEvent::PatientCareEnded {
                patient_id: p(),
                reason: EndOfCareReason::Death,
                effective_at: at,
            },
            IdentityEvent::ConsentRecorded {
                patient_id: p(),
                consent_id: "c1".into(),
                version: 1,
                terms: terms.clone(),
                personal: Some(ConsentPersonal {
                    proxy_name: Some("出雲 一郎".into()),
                }),
            },
            IdentityEvent::ConsentAmended {
                patient_id: p(),
                consent_id: "c1".into(),
                version: 2,
                terms,
                in_force_at_once: true,
                personal: Some(ConsentPersonal { proxy_name: None }),
            },
            IdentityEvent::ConsentActivated {
                patient_id: p(),
                consent_id: "c1".into(),
                version: 1,
                verified_by: "sec".into(),
            },
            IdentityEvent::ConsentRejected {
                patient_id: p(),
                consent_id: "c1".into(),
                version: 1,
                reason: "署名欄が空欄".into(),
            },
            IdentityEvent::ConsentWithdrawn {
                patient_id: p(),
                consent_id: "c1".into(),
                effective_at: at,
                recorded_by: "ns".into(),
            },
            IdentityEvent::ConsentExpired {
                patient_id: p(),
                consent_id: "c1".into(),
                version: 2,
            },
            IdentityEvent::TeamMemberAdded {
                patient_id: p(),
                membership: TeamMembership {
                    membership_id: "t1".into(),
                    site: "nursing".into(),
                    member: None,
                    part: TeamPart::VisitingNurse,
                    since: at,
                    until: None,
                },
                added_by: "cm".into(),
            },
            IdentityEvent::TeamMemberRemoved {
                patient_id: p(),
                membership_id: "t1".into(),
                effective_at: at,
                removed_by: "cm".into(),
            },
            IdentityEvent::Contact24hChanged {
                patient_id: p(),
                contact: Some(Contact24h {
                    site: Some("nursing".into()),
                    phone: "090-1234-5678".into(),
                    note: None,
                }),
            },
            IdentityEvent::FamilyContactAdded {
                patient_id: p(),
                contact_id: "f1".into(),
                personal: Some(FamilyContact {
                    name: "出雲 花子".into(),
                    name_kana: None,
                    relationship: consent::FamilyRelationship::Child,
                    phone: "090-0000-0000".into(),
                    key_person: true,
                    note: None,
                }),
            },
            IdentityEvent::FamilyContactRemoved {
                patient_id: p(),
                contact_id: "f1".into(),
            },
            IdentityEvent::BreakGlassOpened {
                patient_id: p(),
                grant: BreakGlassGrant {
                    grant_id: "g1".into(),
                    member_id: "dr".into(),
                    reason: "急変".into(),
                    opened_at: at,
                    expires_at: at + chrono::Duration::hours(4),
                },
                site: Some("clinic".into()),
            },
            IdentityEvent::BreakGlassEnded {
                patient_id: p(),
                grant_id: "g1".into(),
                member_id: "dr".into(),
                ended_at: at + chrono::Duration::hours(4),
                why: BreakGlassEndReason::Expired,
            },
            IdentityEvent::DocumentAttached {
                patient_id: p(),
                document_id: "d1".into(),
                category: DataCategory::Documents,
                sha256: "ab".repeat(32),
                media_type: "application/pdf".into(),
                size: 1024,
                attached_by: "ns".into(),
                site: Some("nursing".into()),
                personal: Some(DocumentPersonal {
                    title: "出雲 太郎 退院時サマリー".into(),
                }),
            },
            IdentityEvent::PatientErased {
                patient_id: p(),
                reason: "保存期間満了".into(),
                erased_by: "operator:bootstrap".into(),
            },
        ]
    }

    #[test]
    fn every_patient_event_round_trips_and_names_its_patient() {
        for ev in patient_events() {
            let t = ev.event_type();
            let v = IdentityEvent::current_version(t).unwrap();
            assert_eq!(
                IdentityEvent::decode(t, v, ev.to_payload()).unwrap(),
                ev,
                "{t}"
            );
            assert_eq!(
                ev.patient_id(),
                Some("0190a0c0-0000-7000-8000-0000000000aa"),
                "{t}"
            );
        }
    }

    #[test]
    fn a_patient_event_replays_without_its_personal_field() {
        for ev in patient_events() {
            let t = ev.event_type();
            let mut payload = ev.to_payload();
            let had = payload
                .as_object_mut()
                .unwrap()
                .remove(crate::patients::PERSONAL_FIELD)
                .is_some();
            assert_eq!(had, ev.has_personal_field(), "{t}");
            let erased = IdentityEvent::decode(t, 1, payload.clone()).unwrap();
            assert_eq!(erased, ev.clone().without_personal(), "{t}");
            // What is left holds none of the personal values.
            let rest = payload.to_string();
            for personal in [
                "出雲 太郎",
                "イズモ",
                "1938-05-03",
                "今市町",
                "0000123456",
                "出雲 一郎",
                "出雲 花子",
                "090-0000-0000",
                "大田町",
            ] {
                assert!(!rest.contains(personal), "{t} leaks {personal}");
            }
        }
    }

    #[test]
    fn a_sealed_personal_field_reads_as_absent_and_the_rest_replays() {
        for ev in patient_events()
            .into_iter()
            .filter(|e| e.has_personal_field())
        {
            let t = ev.event_type();
            let mut payload = ev.to_payload();
            payload[PERSONAL_FIELD] = serde_json::json!({"sealed": "bm90LXJlYWxseS1zZWFsZWQ"});
            let read = IdentityEvent::decode(t, 1, payload).unwrap();
            assert_eq!(read, ev.clone().without_personal(), "{t}");
        }
    }

    #[test]
    fn an_unknown_event_type_is_reported() {
        assert!(matches!(
            IdentityEvent::decode("Nope", 1, Value::Null),
            Err(DecodeError::UnknownType(_))
        ));
    }
}
