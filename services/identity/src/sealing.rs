//! Crypto-shredding of patient events: the `personal` field of a patient event is sealed with
//! the patient's data key before it is appended (`"personal": {"sealed": "<text>"}`), and
//! opened with that key where the service needs it. Without the key — destroyed, or a reader
//! that never had it — the field reads as absent (`IdentityEvent::decode` does that), and the
//! rest of the event replays unchanged.

use credentials::shredding::DataKey;
use identity_api::patients::{PERSONAL_FIELD, SEALED, seal_context, sealed_personal};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Seals the `personal` field of a patient event's payload in place. A payload without
/// personal data (`null`, absent) or already sealed is left as it is.
pub fn seal(payload: &mut Value, key: &DataKey, patient_id: &str, event_type: &str) {
    if sealed_personal(payload).is_some() {
        return;
    }
    let Some(personal) = payload.get(PERSONAL_FIELD).filter(|p| !p.is_null()) else {
        return;
    };
    let plain = personal.to_string();
    let sealed = key.seal(&seal_context(patient_id, event_type), plain.as_bytes());
    payload[PERSONAL_FIELD] = serde_json::json!({ SEALED: sealed });
}

/// Opens the sealed `personal` field of a stored payload in place, so that decoding reads
/// it. Without a key, or with one that does not open it, the field becomes `null` (erased).
pub fn open(payload: &mut Value, key: Option<&DataKey>, patient_id: &str, event_type: &str) {
    let Some(sealed) = sealed_personal(payload) else {
        return;
    };
    let opened = key.and_then(|k| open_value(k, sealed, patient_id, event_type));
    payload[PERSONAL_FIELD] = opened.unwrap_or(Value::Null);
}

fn open_value(key: &DataKey, sealed: &str, patient_id: &str, event_type: &str) -> Option<Value> {
    match key.open(&seal_context(patient_id, event_type), sealed) {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(_) => {
            tracing::warn!(
                patient = patient_id,
                event_type,
                "a sealed field does not open"
            );
            None
        }
    }
}

/// Opens sealed text kept by a projection as the personal field of `event_type`.
pub fn open_as<T: DeserializeOwned>(
    key: Option<&DataKey>,
    sealed: Option<&str>,
    patient_id: &str,
    event_type: &str,
) -> Option<T> {
    let value = open_value(key?, sealed?, patient_id, event_type)?;
    serde_json::from_value(value).ok()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use event_store::EventContract;
    use identity_api::events::IdentityEvent;
    use identity_api::patients::{PatientPersonal, Sex};

    use super::*;

    const P: &str = "0190a0c0-0000-7000-8000-0000000000aa";

    fn registered() -> IdentityEvent {
        IdentityEvent::PatientRegistered {
            patient_id: P.into(),
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
                care_level: None,
            }),
        }
    }

    fn sealed(key: &DataKey) -> Value {
        let event = registered();
        let mut payload = event.to_payload();
        seal(&mut payload, key, P, event.event_type());
        payload
    }

    #[test]
    fn a_sealed_personal_field_holds_nothing_readable_and_opens_with_the_patients_key() {
        let key = DataKey::generate();
        let mut payload = sealed(&key);
        let text = payload.to_string();
        for personal in ["出雲", "イズモ", "1938-05-03", "今市町", "0000123456"] {
            assert!(!text.contains(personal), "{personal} readable");
        }
        assert_eq!(payload["home_municipality"], "322032");
        open(&mut payload, Some(&key), P, "PatientRegistered");
        let back = IdentityEvent::decode("PatientRegistered", 1, payload).unwrap();
        assert_eq!(back, registered());
    }

    #[test]
    fn without_the_key_or_with_another_the_field_reads_as_erased_and_the_rest_replays() {
        let key = DataKey::generate();
        let erased = registered().without_personal();
        // The generic decode (projections, followers, replays) never fails on it.
        let generic = IdentityEvent::decode("PatientRegistered", 1, sealed(&key)).unwrap();
        assert_eq!(generic, erased);
        for other in [None, Some(DataKey::generate())] {
            let mut payload = sealed(&key);
            open(&mut payload, other.as_ref(), P, "PatientRegistered");
            assert!(payload[PERSONAL_FIELD].is_null());
            let read = IdentityEvent::decode("PatientRegistered", 1, payload).unwrap();
            assert_eq!(read, erased);
        }
    }

    #[test]
    fn a_sealed_field_opens_only_for_its_own_patient_and_event_type() {
        let key = DataKey::generate();
        let payload = sealed(&key);
        let text = sealed_personal(&payload).map(str::to_owned);
        let as_registered: Option<PatientPersonal> =
            open_as(Some(&key), text.as_deref(), P, "PatientRegistered");
        assert_eq!(as_registered.unwrap().name, "出雲 太郎");
        let elsewhere: Option<PatientPersonal> =
            open_as(Some(&key), text.as_deref(), "another", "PatientRegistered");
        assert!(elsewhere.is_none());
        let as_moved: Option<PatientPersonal> =
            open_as(Some(&key), text.as_deref(), P, "PatientMoved");
        assert!(as_moved.is_none());
    }

    #[test]
    fn an_event_without_personal_data_is_left_alone_and_sealing_twice_changes_nothing() {
        let key = DataKey::generate();
        let mut none = registered().without_personal().to_payload();
        let before = none.clone();
        seal(&mut none, &key, P, "PatientRegistered");
        assert_eq!(none, before);
        let mut once = sealed(&key);
        let first = once.clone();
        seal(&mut once, &key, P, "PatientRegistered");
        assert_eq!(once, first);
    }
}
