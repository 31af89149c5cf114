//! From a stored event to the record the log chains: which events are audited, what kind
//! of record each makes, and the pseudonymisation that keeps patients out of the chain.
//!
//! Pure: the same event and key always give the same record, byte for byte, which is what
//! lets a replay from sequence 0 rebuild identical hashes.

use audit_api::{AuditRecord, RecordKind, RecordSource};
use event_store::EventEnvelope;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The key that turns patient ids into pseudonyms (`TSUNAGU_AUDIT_PSEUDONYM_KEY`).
///
/// Keyed, so a pseudonym cannot be computed from an id by whoever reads the log alone;
/// deterministic, so a rebuild gives the same chain. Never rotate it: the chain holds the
/// pseudonyms it made.
#[derive(Clone)]
pub struct Pseudonyms {
    key: [u8; 32],
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms(..)")
    }
}

impl Pseudonyms {
    /// From 32 bytes.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// From 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(Self::new(bytes.try_into().ok()?))
    }

    /// The pseudonym of a patient: `p_` and 32 hex digits.
    pub fn of(&self, patient_id: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        mac.update(b"tsunagu-audit-patient\0");
        mac.update(patient_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("p_{}", hex::encode(&digest[..16]))
    }
}

/// Which record kind an event of another context makes; `None`: not audited.
pub fn kind_of(event_type: &str) -> Option<RecordKind> {
    use RecordKind::*;
    Some(match event_type {
        access_log::ACCESS_RECORDED => PatientAccess,
        access_log::PERMISSION_DENIED => PermissionDenied,
        "MemberSignedIn" => SignIn,
        "SignInFailed" => SignInFailed,
        "MemberLockedOut" => LockedOut,
        "SecondFactorEnrolled" => SecondFactorEnrolled,
        "CredentialsReset" => CredentialsReset,
        "MemberInvited"
        | "MemberSelfRegistered"
        | "MemberVerified"
        | "MemberActivated"
        | "MemberDeactivated"
        | "MemberRolesChanged" => MemberChange,
        "SessionRevoked" => SessionRevoked,
        "IntegratorRegistered" | "IntegratorRevoked" | "SigningKeyRotated" => SecurityChange,
        "SiteRegistered" | "SiteDetailsChanged" | "SiteClosed" => SiteChange,
        "PatientRegistered" | "PatientMoved" | "CareLevelCertified" | "PatientCareEnded"
        | "PatientErased" => PatientChange,
        "ConsentRecorded" | "ConsentAmended" | "ConsentActivated" | "ConsentRejected"
        | "ConsentWithdrawn" | "ConsentExpired" => ConsentChange,
        "TeamMemberAdded"
        | "TeamMemberRemoved"
        | "Contact24hChanged"
        | "FamilyContactAdded"
        | "FamilyContactRemoved" => TeamChange,
        "BreakGlassOpened" => BreakGlassOpened,
        "BreakGlassEnded" => BreakGlassEnded,
        "DocumentAttached" => DocumentAttached,
        "PostCreated" | "PostEdited" | "PostRetracted" => PostWritten,
        "BroadcastPublished" | "BroadcastReturned" => BroadcastReviewed,
        "ConsultationOpened" | "ConsultationAssigned" => ConsultationChange,
        _ => return None,
    })
}

/// Is this event of another context audited?
pub fn is_audited(envelope: &EventEnvelope) -> bool {
    kind_of(&envelope.event_type).is_some()
}

/// The record an event of another context makes at place `seq` of the log, with the patient
/// (if any) replaced by their pseudonym. Also returns the patient's id, for the mapping
/// kept beside the chain (deleted when the patient is erased).
pub fn record_of(
    seq: u64,
    source: RecordSource,
    event: &EventEnvelope,
    pseudonyms: &Pseudonyms,
) -> Option<(AuditRecord, Option<String>)> {
    let kind = kind_of(&event.event_type)?;
    let payload = event.payload.as_object().cloned().unwrap_or_default();
    let patient_id = if event.aggregate_type == "patient" {
        Some(event.aggregate_id.clone())
    } else {
        text(&payload, "patient_id")
    };
    let patient = patient_id.as_deref().map(|id| pseudonyms.of(id));
    let mut record = AuditRecord {
        seq,
        source,
        event_type: event.event_type.clone(),
        kind,
        at: event.occurred_at,
        actor: event.actor.0.clone(),
        member_id: None,
        session_id: None,
        roles: Vec::new(),
        sites: Vec::new(),
        municipality: event.municipality.clone(),
        patient,
        outcome: None,
        reason: Value::Null,
        categories: Vec::new(),
        resources: Vec::new(),
        purpose: None,
        break_glass: false,
        client_address: None,
        route: None,
        detail: Value::Object(Map::new()),
    };
    if kind == RecordKind::PatientAccess {
        let access = access_log::decode(event)?;
        record.member_id = Some(access.accessor.member_id.clone());
        record.session_id = Some(access.accessor.session_id.clone());
        record.roles = access.accessor.roles.clone();
        if let Some(p) = &access.accessor.profession {
            record.roles.push(format!("profession:{p}"));
        }
        record.sites = access.accessor.sites.clone();
        let decision = serde_json::to_value(&access.decision).unwrap_or(Value::Null);
        record.outcome = decision
            .get("outcome")
            .and_then(Value::as_str)
            .map(str::to_owned);
        record.categories = categories_in(&serde_json::to_value(access.reach).unwrap_or_default());
        record.reason = decision;
        record.resources = access.resources.clone();
        record.purpose = serde_json::to_value(access.purpose)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        record.break_glass = access.break_glass;
        record.client_address = access.client_address.clone();
        record.route = Some(access.route.clone());
        record.detail =
            serde_json::json!({ "accessor_municipality": access.accessor.municipality });
        return Some((record, patient_id));
    }
    if kind == RecordKind::PermissionDenied {
        let refusal = access_log::decode_refusal(event)?;
        let accessor = &refusal.accessor;
        record.member_id = Some(accessor.member_id.clone());
        record.session_id = Some(accessor.session_id.clone());
        record.roles = accessor.roles.clone();
        if let Some(p) = &accessor.profession {
            record.roles.push(format!("profession:{p}"));
        }
        record.sites = accessor.sites.clone();
        // Whose refusal it is: the municipality's review counts its own members' refusals.
        record.municipality = accessor.municipality.clone();
        record.outcome = Some("denied".into());
        record.reason = Value::String(refusal.reason.clone());
        record.client_address = refusal.client_address.clone();
        record.route = Some(refusal.route.clone());
        record.detail = serde_json::json!({
            "refused_by": refusal.refused_by,
            "target": refusal.target,
        });
        return Some((record, patient_id));
    }
    record.member_id = text(&payload, "member_id").or_else(|| member_of_actor(&event.actor.0));
    record.session_id = text(&payload, "session_id");
    record.roles = texts(&payload, "roles");
    record.sites = texts(&payload, "sites");
    if let Some(site) = text(&payload, "site").or_else(|| text(&payload, "site_id"))
        && !record.sites.contains(&site)
    {
        record.sites.push(site);
    }
    match kind {
        RecordKind::SignIn => record.outcome = Some("succeeded".into()),
        RecordKind::SignInFailed => {
            record.outcome = Some("failed".into());
            record.reason = payload.get("reason").cloned().unwrap_or(Value::Null);
        }
        RecordKind::BreakGlassOpened => {
            record.break_glass = true;
            let grant = payload.get("grant").cloned().unwrap_or(Value::Null);
            record.member_id = text_of(&grant, "member_id").or(record.member_id);
            record.reason = grant.get("reason").cloned().unwrap_or(Value::Null);
        }
        RecordKind::BreakGlassEnded => record.break_glass = true,
        _ => {
            if let Some(reason) = payload.get("reason") {
                record.reason = reason.clone();
            }
        }
    }
    record.detail = Value::Object(scrub(payload, pseudonyms));
    Some((record, patient_id))
}

/// The payload without personal fields (sealed per patient; the chain must never need to
/// forget anything) and with every patient id replaced by its pseudonym.
fn scrub(mut payload: Map<String, Value>, pseudonyms: &Pseudonyms) -> Map<String, Value> {
    payload.remove("personal");
    // Sealed text (a post's) is personal data too: shredded with the patient's key, and
    // nothing the chain needs.
    payload.retain(|key, _| !key.ends_with("_sealed"));
    // A post's search terms are keyed with the patient's key: nothing an auditor reads, and
    // numbers a canonical JSON document cannot hold exactly.
    payload.remove("terms");
    for (key, value) in payload.iter_mut() {
        if key == "patient_id"
            && let Some(id) = value.as_str()
        {
            *value = Value::String(pseudonyms.of(id));
        } else if let Value::Object(inner) = value {
            *inner = scrub(std::mem::take(inner), pseudonyms);
        } else {
            exact(value);
        }
    }
    payload
}

/// An integer a canonical JSON number cannot hold exactly (beyond ±2^53) becomes its
/// decimal text: one odd number in a payload must never stop the chain.
fn exact(value: &mut Value) {
    const SAFE: u64 = 1 << 53;
    match value {
        Value::Number(n) if n.as_i64().is_some_and(|i| i.unsigned_abs() > SAFE) => {
            *value = Value::String(n.to_string());
        }
        Value::Number(n) if n.as_u64().is_some_and(|u| u > SAFE) => {
            *value = Value::String(n.to_string());
        }
        Value::Array(items) => items.iter_mut().for_each(exact),
        _ => {}
    }
}

/// Every category named anywhere in `value` (the request's reach), sorted, each once.
fn categories_in(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_categories(value, &mut found);
    found.sort();
    found.dedup();
    found
}

fn collect_categories(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "categories"
                    && let Value::Array(items) = inner
                {
                    found.extend(items.iter().filter_map(|i| i.as_str().map(str::to_owned)));
                } else {
                    collect_categories(inner, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_categories(i, found)),
        _ => {}
    }
}

fn member_of_actor(actor: &str) -> Option<String> {
    actor.strip_prefix("member:").map(str::to_owned)
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn text_of(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn texts(map: &Map<String, Value>, key: &str) -> Vec<String> {
    map.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The canonical bytes of a record (RFC 8785), as hashed and stored.
pub fn canonical(record: &AuditRecord) -> Result<Vec<u8>, audit_chain::CanonicalError> {
    let value = serde_json::to_value(record)
        .map_err(|e| audit_chain::CanonicalError::NumberOutOfRange(e.to_string()))?;
    audit_chain::canonical_json(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use event_store::{Actor, Visibility};
    use uuid::Uuid;

    fn key() -> Pseudonyms {
        Pseudonyms::new([7; 32])
    }

    fn envelope(event_type: &str, aggregate_type: &str, id: &str, payload: Value) -> EventEnvelope {
        EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version: 1,
            visibility: Visibility::Patient,
            municipality: Some("322032".into()),
            aggregate_type: aggregate_type.into(),
            aggregate_id: id.into(),
            occurred_at: chrono::Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap(),
            actor: Actor("member:m-1".into()),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            traceparent: None,
            payload,
        }
    }

    fn source() -> RecordSource {
        RecordSource {
            stream: "TSUNAGU_IDENTITY".into(),
            sequence: 9,
            event_id: "e".into(),
        }
    }

    #[test]
    fn a_number_no_canonical_json_holds_is_kept_as_text_and_search_terms_are_dropped() {
        let mut payload = Map::new();
        payload.insert("big".into(), serde_json::json!(i64::MAX));
        payload.insert(
            "list".into(),
            serde_json::json!([1, -9_007_199_254_740_993i64]),
        );
        payload.insert("terms".into(), serde_json::json!([i64::MIN]));
        let scrubbed = Value::Object(scrub(payload, &Pseudonyms::new([7; 32])));
        assert_eq!(scrubbed["big"], serde_json::json!(i64::MAX.to_string()));
        assert_eq!(
            scrubbed["list"],
            serde_json::json!([1, "-9007199254740993"])
        );
        assert!(scrubbed.get("terms").is_none());
        assert!(audit_chain::canonical_json(&scrubbed).is_ok());
    }

    #[test]
    fn a_pseudonym_is_stable_keyed_and_reveals_nothing() {
        let a = key().of("019a-patient");
        assert_eq!(a, key().of("019a-patient"));
        assert_ne!(a, Pseudonyms::new([8; 32]).of("019a-patient"));
        assert_ne!(a, key().of("019a-patienT"));
        assert!(a.starts_with("p_") && a.len() == 34 && !a.contains("019a"));
    }

    #[test]
    fn a_consent_change_names_the_patient_by_pseudonym_and_leaves_personal_data_out() {
        let event = envelope(
            "ConsentWithdrawn",
            "patient",
            "pat-1",
            serde_json::json!({"patient_id": "pat-1", "consent_id": "c-1", "personal": "sealed:abc"}),
        );
        let (record, patient) = record_of(3, source(), &event, &key()).unwrap();
        assert_eq!(record.kind, RecordKind::ConsentChange);
        assert_eq!(patient.as_deref(), Some("pat-1"));
        assert_eq!(record.patient, Some(key().of("pat-1")));
        let bytes = String::from_utf8(canonical(&record).unwrap()).unwrap();
        assert!(!bytes.contains("pat-1"), "{bytes}");
        assert!(!bytes.contains("sealed:abc"), "{bytes}");
        assert!(bytes.contains("c-1"));
        assert_eq!(record.member_id.as_deref(), Some("m-1"));
    }

    #[test]
    fn a_failed_sign_in_is_a_failure_with_its_reason() {
        let event = envelope(
            "SignInFailed",
            "member_session",
            "m-2",
            serde_json::json!({"member_id": "m-2", "reason": "wrong_code"}),
        );
        let (record, patient) = record_of(0, source(), &event, &key()).unwrap();
        assert_eq!(record.kind, RecordKind::SignInFailed);
        assert_eq!(record.outcome.as_deref(), Some("failed"));
        assert_eq!(record.reason, Value::String("wrong_code".into()));
        assert_eq!(record.member_id.as_deref(), Some("m-2"));
        assert!(patient.is_none() && record.patient.is_none());
    }

    #[test]
    fn a_refused_team_change_is_a_denial_of_the_member_about_the_patient_by_pseudonym() {
        let refusal = serde_json::json!({
            "accessor": {
                "member_id": "m-4", "session_id": "s-4", "roles": ["professional"],
                "profession": "nurse", "sites": ["site-1"], "municipality": "322032",
            },
            "route": "POST /api/v1/patients/{patient_id}/team",
            "target": {},
            "patient_id": "pat-1",
            "reason": "manage_care_team is not yours to do for this patient",
            "refused_by": "service",
            "client_address": "127.0.0.1",
            "at": "2026-10-01T00:00:00Z",
        });
        let mut event = envelope(access_log::PERMISSION_DENIED, "member", "m-4", refusal);
        // The gateway does not know the patient's home municipality.
        event.municipality = None;
        let (record, patient) = record_of(1, source(), &event, &key()).unwrap();
        assert_eq!(record.kind, RecordKind::PermissionDenied);
        assert_eq!(record.outcome.as_deref(), Some("denied"));
        assert_eq!(record.member_id.as_deref(), Some("m-4"));
        assert_eq!(record.municipality.as_deref(), Some("322032"));
        assert_eq!(patient.as_deref(), Some("pat-1"));
        assert_eq!(record.patient, Some(key().of("pat-1")));
        assert_eq!(record.detail["refused_by"], "service");
        let bytes = String::from_utf8(canonical(&record).unwrap()).unwrap();
        assert!(!bytes.contains("pat-1"), "{bytes}");
    }

    #[test]
    fn a_role_change_is_a_member_change_naming_the_new_roles_the_old_and_why() {
        let event = envelope(
            "MemberRolesChanged",
            "member",
            "m-4",
            serde_json::json!({
                "member_id": "m-4",
                "roles": ["professional", "site_admin"],
                "previous_roles": ["professional"],
                "reason": "runs the station now",
            }),
        );
        let (record, patient) = record_of(6, source(), &event, &key()).unwrap();
        assert_eq!(record.kind, RecordKind::MemberChange);
        assert_eq!(record.member_id.as_deref(), Some("m-4"));
        assert_eq!(record.roles, vec!["professional", "site_admin"]);
        assert_eq!(record.reason, Value::String("runs the station now".into()));
        assert_eq!(
            record.detail["previous_roles"],
            serde_json::json!(["professional"])
        );
        assert!(patient.is_none() && record.patient.is_none());
    }

    #[test]
    fn registers_and_directories_are_not_audited() {
        for t in ["MunicipalityRegistered", "AreaAdded", "OrganisationRenamed"] {
            assert!(kind_of(t).is_none(), "{t}");
        }
    }

    #[test]
    fn the_same_event_makes_the_same_bytes() {
        let event = envelope(
            "TeamMemberAdded",
            "patient",
            "pat-1",
            serde_json::json!({"patient_id": "pat-1", "membership": {"site": "s-1", "member_id": "m-3"}}),
        );
        let (a, _) = record_of(5, source(), &event, &key()).unwrap();
        let (b, _) = record_of(5, source(), &event.clone(), &key()).unwrap();
        assert_eq!(canonical(&a).unwrap(), canonical(&b).unwrap());
    }
}
