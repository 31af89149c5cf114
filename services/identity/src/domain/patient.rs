//! A patient's registration: who they are (personal, sealed per patient), where they live,
//! their care level, and the end of their care. The consents and the care team live on the
//! same subject (see `consent` and `care_team`), so a change to any of them is checked
//! against the same history.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use identity_api::events::IdentityEvent;
use identity_api::patients::{
    CareEnding, CareLevelCertification, EndOfCareReason, NewAddress, NewPatient, PatientMove,
    PatientPersonal,
};

use super::municipality::parse_code;
use super::numbers::{insured_number, insurer_number};
use super::{Invalid, normalised_kana, normalised_name};

/// No one registered is older than this (the oldest person on record lived to 122).
pub const MAX_AGE_YEARS: i32 = 130;

/// What the registration knows of a patient (no personal fields: they may be erased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    pub patient_id: String,
    pub home_municipality: String,
    pub insurer_number: String,
    pub registering_site: Option<String>,
    pub care_level: Option<CareLevelCertification>,
    pub care_ended: Option<(EndOfCareReason, DateTime<Utc>)>,
    /// The patient's key was destroyed: their personal data is erased everywhere.
    pub erased: bool,
}

/// Facts the handler looked up for a registration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistrationFacts {
    /// The home municipality is registered.
    pub home_registered: bool,
    /// The registering site named is open and the caller works there.
    pub registering_site_ok: bool,
    /// Patients of the home municipality with the same reading and date of birth (a warning
    /// recorded with the registration, not a refusal).
    pub same_reading_and_birth: Vec<String>,
    /// Today in Japan (a date of birth cannot be later).
    pub today: Option<NaiveDate>,
}

/// What is asked of a patient's registration. Ids and time come in the command.
#[derive(Debug, Clone, PartialEq)]
pub enum PatientCommand {
    Register {
        patient_id: String,
        details: NewPatient,
        registered_by: String,
        facts: RegistrationFacts,
    },
    Move {
        change: PatientMove,
        /// The new home municipality is registered.
        to_registered: bool,
    },
    CertifyCareLevel {
        certification: CareLevelCertification,
    },
    EndCare {
        ending: CareEnding,
        now: DateTime<Utc>,
    },
    /// Erase the personal data (the handler destroys the key; this records that it did).
    Erase { reason: String, erased_by: String },
}

/// The longest erasure reason, in characters.
pub const MAX_ERASURE_REASON_CHARS: usize = 500;

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatientError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("the patient is already registered")]
    AlreadyRegistered,
    #[error("no such patient")]
    NotRegistered,
    #[error("the patient's care has ended; nothing about it changes any more")]
    CareEnded,
    #[error("the patient's personal data was erased; nothing about them changes any more")]
    Erased,
}

fn care_level(field: &str, c: &CareLevelCertification) -> Result<(), Invalid> {
    if c.valid_until < c.valid_from {
        return Err(Invalid::new(
            format!("{field}/valid_until"),
            "the certification ends before it starts",
        ));
    }
    Ok(())
}

/// Decides what a command does to a patient (`state` is `None` while not registered).
/// `Ok(None)`: the command asks for what already holds.
pub fn decide(
    state: Option<&Patient>,
    command: PatientCommand,
) -> Result<Option<IdentityEvent>, PatientError> {
    use PatientCommand as C;
    match (state, command) {
        (Some(_), C::Register { .. }) => Err(PatientError::AlreadyRegistered),
        (
            None,
            C::Register {
                patient_id,
                details,
                registered_by,
                facts,
            },
        ) => {
            let name = normalised_name("/name", &details.name)?;
            let name_kana = normalised_kana("/name_kana", &details.name_kana)?;
            if let Some(today) = facts.today {
                if details.date_of_birth > today {
                    return Err(
                        Invalid::new("/date_of_birth", "a date of birth in the future").into(),
                    );
                }
                if today.year() - details.date_of_birth.year() > MAX_AGE_YEARS {
                    return Err(Invalid::new(
                        "/date_of_birth",
                        format!(
                            "more than {MAX_AGE_YEARS} years ago; check the era (和暦) conversion"
                        ),
                    )
                    .into());
                }
            }
            let address = normalised_name("/address", &details.address)?;
            let insurer = insurer_number("/insurer_number", &details.insurer_number)?;
            let insured = insured_number("/insured_number", &details.insured_number)?;
            if let Some(c) = &details.care_level {
                care_level("/care_level", c)?;
            }
            let home = parse_code("/home_municipality", &details.home_municipality)?;
            if !facts.home_registered {
                return Err(Invalid::new(
                    "/home_municipality",
                    "no municipality is registered under this code",
                )
                .into());
            }
            if details.registering_site.is_some() && !facts.registering_site_ok {
                return Err(
                    Invalid::new("/registering_site", "not an open site you work at").into(),
                );
            }
            let mut duplicates = facts.same_reading_and_birth;
            duplicates.sort();
            duplicates.dedup();
            Ok(Some(IdentityEvent::PatientRegistered {
                patient_id,
                home_municipality: home.as_str().to_owned(),
                insurer_number: insurer,
                registering_site: details.registering_site,
                registered_by,
                possible_duplicates: duplicates,
                personal: Some(PatientPersonal {
                    name,
                    name_kana,
                    date_of_birth: details.date_of_birth,
                    sex: details.sex,
                    address,
                    insured_number: insured,
                    care_level: details.care_level,
                }),
            }))
        }
        (None, _) => Err(PatientError::NotRegistered),
        // Erasure is what a retention period ends with: after the end of care too.
        (Some(p), C::Erase { reason, erased_by }) => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > MAX_ERASURE_REASON_CHARS {
                return Err(Invalid::new(
                    "/reason",
                    format!("give a reason of 1 to {MAX_ERASURE_REASON_CHARS} characters"),
                )
                .into());
            }
            if p.erased {
                return Ok(None);
            }
            Ok(Some(IdentityEvent::PatientErased {
                patient_id: p.patient_id.clone(),
                reason: reason.to_owned(),
                erased_by,
            }))
        }
        (Some(p), _) if p.erased => Err(PatientError::Erased),
        (Some(p), _) if p.care_ended.is_some() => Err(PatientError::CareEnded),
        (
            Some(p),
            C::Move {
                change,
                to_registered,
            },
        ) => {
            let to = parse_code("/home_municipality", &change.home_municipality)?;
            if !to_registered {
                return Err(Invalid::new(
                    "/home_municipality",
                    "no municipality is registered under this code",
                )
                .into());
            }
            if to.as_str() == p.home_municipality {
                return Err(Invalid::new(
                    "/home_municipality",
                    "the patient already lives in this municipality",
                )
                .into());
            }
            let insurer = insurer_number("/insurer_number", &change.insurer_number)?;
            let insured = insured_number("/insured_number", &change.insured_number)?;
            let address = normalised_name("/address", &change.address)?;
            Ok(Some(IdentityEvent::PatientMoved {
                patient_id: p.patient_id.clone(),
                from_municipality: p.home_municipality.clone(),
                to_municipality: to.as_str().to_owned(),
                insurer_number: insurer,
                effective_on: change.effective_on,
                personal: Some(NewAddress {
                    address,
                    insured_number: insured,
                }),
            }))
        }
        (Some(p), C::CertifyCareLevel { certification }) => {
            care_level("", &certification)?;
            if p.care_level.as_ref() == Some(&certification) {
                return Ok(None);
            }
            Ok(Some(IdentityEvent::CareLevelCertified {
                patient_id: p.patient_id.clone(),
                personal: Some(certification),
            }))
        }
        (Some(p), C::EndCare { ending, now }) => {
            if ending.effective_at > now {
                return Err(Invalid::new(
                    "/effective_at",
                    "care ends when it has ended, not in advance",
                )
                .into());
            }
            Ok(Some(IdentityEvent::PatientCareEnded {
                patient_id: p.patient_id.clone(),
                reason: ending.reason,
                effective_at: ending.effective_at,
            }))
        }
    }
}

/// Folds one event into the state. Events of other aggregates (and the patient's consent and
/// team events) leave it unchanged. Works the same with personal fields erased, except that
/// the care level is then unknown.
pub fn evolve(state: Option<Patient>, event: &IdentityEvent) -> Option<Patient> {
    use IdentityEvent as E;
    match (state, event) {
        (
            None,
            E::PatientRegistered {
                patient_id,
                home_municipality,
                insurer_number,
                registering_site,
                personal,
                ..
            },
        ) => Some(Patient {
            patient_id: patient_id.clone(),
            home_municipality: home_municipality.clone(),
            insurer_number: insurer_number.clone(),
            registering_site: registering_site.clone(),
            care_level: personal.as_ref().and_then(|p| p.care_level.clone()),
            care_ended: None,
            erased: false,
        }),
        (
            Some(mut p),
            E::PatientMoved {
                to_municipality,
                insurer_number,
                ..
            },
        ) => {
            p.home_municipality = to_municipality.clone();
            p.insurer_number = insurer_number.clone();
            Some(p)
        }
        (Some(mut p), E::CareLevelCertified { personal, .. }) => {
            p.care_level = personal.clone();
            Some(p)
        }
        (
            Some(mut p),
            E::PatientCareEnded {
                reason,
                effective_at,
                ..
            },
        ) => {
            p.care_ended = Some((*reason, *effective_at));
            Some(p)
        }
        (Some(mut p), E::PatientErased { .. }) => {
            p.care_level = None;
            p.erased = true;
            Some(p)
        }
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use identity_api::patients::{CareLevel, Sex};

    use super::*;

    const ID: &str = "0190a0c0-0000-7000-8000-0000000000aa";

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn given(events: &[IdentityEvent]) -> Option<Patient> {
        events.iter().fold(None, evolve)
    }

    fn details() -> NewPatient {
        NewPatient {
            name: "出雲　太郎".into(),
            name_kana: "ｲｽﾞﾓ ﾀﾛｳ".into(),
            date_of_birth: date("1938-05-03"),
            sex: Sex::Male,
            address: "島根県出雲市今市町１－１".into(),
            insurer_number: "３２２０３２".into(),
            insured_number: "0000123456".into(),
            care_level: Some(CareLevelCertification {
                level: CareLevel::CareLevel2,
                valid_from: date("2026-04-01"),
                valid_until: date("2027-03-31"),
            }),
            home_municipality: "322032".into(),
            registering_site: Some("care-office".into()),
        }
    }

    fn facts() -> RegistrationFacts {
        RegistrationFacts {
            home_registered: true,
            registering_site_ok: true,
            same_reading_and_birth: vec![],
            today: Some(date("2026-10-01")),
        }
    }

    fn register(details: NewPatient, facts: RegistrationFacts) -> PatientCommand {
        PatientCommand::Register {
            patient_id: ID.into(),
            details,
            registered_by: "cm".into(),
            facts,
        }
    }

    fn registered() -> IdentityEvent {
        decide(None, register(details(), facts())).unwrap().unwrap()
    }

    fn field_of(err: PatientError) -> String {
        match err {
            PatientError::Invalid(i) => i.field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn a_registration_normalises_names_and_numbers_and_keeps_personal_fields_together() {
        let IdentityEvent::PatientRegistered {
            home_municipality,
            insurer_number,
            registering_site,
            personal: Some(personal),
            ..
        } = registered()
        else {
            panic!("a registration")
        };
        assert_eq!(home_municipality, "322032");
        assert_eq!(insurer_number, "322032");
        assert_eq!(registering_site.as_deref(), Some("care-office"));
        assert_eq!(personal.name, "出雲 太郎");
        assert_eq!(personal.name_kana, "イズモ タロウ");
        assert_eq!(personal.address, "島根県出雲市今市町1-1");
        assert_eq!(personal.insured_number, "0000123456");
    }

    #[test]
    fn the_same_reading_and_birth_date_is_a_warning_recorded_not_a_refusal() {
        let warned = RegistrationFacts {
            same_reading_and_birth: vec!["p9".into(), "p9".into()],
            ..facts()
        };
        let event = decide(None, register(details(), warned)).unwrap().unwrap();
        assert!(matches!(
            event,
            IdentityEvent::PatientRegistered { ref possible_duplicates, .. }
                if *possible_duplicates == ["p9"]
        ));
    }

    #[test]
    fn each_bad_field_is_named() {
        type Change = Box<dyn Fn(&mut NewPatient, &mut RegistrationFacts)>;
        let cases: Vec<(&str, Change)> = vec![
            ("/name", Box::new(|d, _| d.name = " ".into())),
            ("/name_kana", Box::new(|d, _| d.name_kana = "Taro".into())),
            (
                "/date_of_birth",
                Box::new(|d, _| d.date_of_birth = date("2026-10-02")),
            ),
            (
                "/date_of_birth",
                Box::new(|d, _| d.date_of_birth = date("1890-01-01")),
            ),
            (
                "/insurer_number",
                Box::new(|d, _| d.insurer_number = "99203".into()),
            ),
            (
                "/insured_number",
                Box::new(|d, _| d.insured_number = "123456789".into()),
            ),
            (
                "/care_level/valid_until",
                Box::new(|d, _| {
                    if let Some(c) = d.care_level.as_mut() {
                        c.valid_until = date("2026-03-31");
                    }
                }),
            ),
            (
                "/home_municipality",
                Box::new(|d, _| d.home_municipality = "322031".into()),
            ),
            (
                "/home_municipality",
                Box::new(|_, f| f.home_registered = false),
            ),
            (
                "/registering_site",
                Box::new(|_, f| f.registering_site_ok = false),
            ),
        ];
        for (field, change) in cases {
            let (mut d, mut f) = (details(), facts());
            change(&mut d, &mut f);
            assert_eq!(field_of(decide(None, register(d, f)).unwrap_err()), field);
        }
    }

    #[test]
    fn the_secretariat_registers_without_a_site() {
        let by_secretariat = NewPatient {
            registering_site: None,
            ..details()
        };
        let facts = RegistrationFacts {
            registering_site_ok: false,
            ..facts()
        };
        assert!(decide(None, register(by_secretariat, facts)).is_ok());
    }

    #[test]
    fn a_patient_moves_to_another_municipality_and_keeps_their_id() {
        let state = given(&[registered()]);
        let change = PatientMove {
            home_municipality: "322059".into(),
            insurer_number: "322059".into(),
            insured_number: "0000654321".into(),
            address: "島根県大田市大田町1".into(),
            effective_on: date("2026-11-01"),
        };
        let moved = decide(
            state.as_ref(),
            PatientCommand::Move {
                change: change.clone(),
                to_registered: true,
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(moved.patient_id(), Some(ID));
        let after = given(&[registered(), moved]).unwrap();
        assert_eq!(after.home_municipality, "322059");
        let again = decide(
            Some(&after),
            PatientCommand::Move {
                change,
                to_registered: true,
            },
        );
        assert_eq!(field_of(again.unwrap_err()), "/home_municipality");
    }

    #[test]
    fn end_of_care_closes_the_registration_to_every_change() {
        let state = given(&[registered()]);
        let ended = decide(
            state.as_ref(),
            PatientCommand::EndCare {
                ending: CareEnding {
                    reason: EndOfCareReason::Death,
                    effective_at: at("2026-12-20T00:00:00Z"),
                },
                now: at("2026-12-22T00:00:00Z"),
            },
        )
        .unwrap()
        .unwrap();
        let state = given(&[registered(), ended]);
        assert_eq!(
            state.as_ref().unwrap().care_ended,
            Some((EndOfCareReason::Death, at("2026-12-20T00:00:00Z")))
        );
        let certify = PatientCommand::CertifyCareLevel {
            certification: CareLevelCertification {
                level: CareLevel::CareLevel5,
                valid_from: date("2027-01-01"),
                valid_until: date("2027-12-31"),
            },
        };
        assert_eq!(
            decide(state.as_ref(), certify),
            Err(PatientError::CareEnded)
        );
    }

    #[test]
    fn care_does_not_end_in_advance() {
        let state = given(&[registered()]);
        let err = decide(
            state.as_ref(),
            PatientCommand::EndCare {
                ending: CareEnding {
                    reason: EndOfCareReason::AdmittedOutsideNetwork,
                    effective_at: at("2026-12-23T00:00:00Z"),
                },
                now: at("2026-12-22T00:00:00Z"),
            },
        )
        .unwrap_err();
        assert_eq!(field_of(err), "/effective_at");
    }

    #[test]
    fn a_registration_whose_personal_fields_were_erased_still_replays() {
        let erased = registered().without_personal();
        let state = given(&[erased]).unwrap();
        assert_eq!(state.home_municipality, "322032");
        assert_eq!(state.care_level, None);
    }

    #[test]
    fn erasure_needs_a_reason_happens_once_and_closes_the_patient_even_after_the_end_of_care() {
        let ended = IdentityEvent::PatientCareEnded {
            patient_id: ID.into(),
            reason: EndOfCareReason::Death,
            effective_at: at("2026-12-20T00:00:00Z"),
        };
        let state = given(&[registered(), ended.clone()]);
        let erase = |reason: &str| PatientCommand::Erase {
            reason: reason.into(),
            erased_by: "sec".into(),
        };
        assert_eq!(
            field_of(decide(state.as_ref(), erase(" ")).unwrap_err()),
            "/reason"
        );
        let erased = decide(state.as_ref(), erase(" 保存期間満了 "))
            .unwrap()
            .unwrap();
        assert_eq!(
            erased,
            IdentityEvent::PatientErased {
                patient_id: ID.into(),
                reason: "保存期間満了".into(),
                erased_by: "sec".into()
            }
        );
        let after = given(&[registered(), ended, erased]);
        assert!(after.as_ref().unwrap().erased);
        assert_eq!(decide(after.as_ref(), erase("again")), Ok(None));
        let certify = PatientCommand::CertifyCareLevel {
            certification: CareLevelCertification {
                level: CareLevel::CareLevel1,
                valid_from: date("2027-01-01"),
                valid_until: date("2027-12-31"),
            },
        };
        assert_eq!(decide(after.as_ref(), certify), Err(PatientError::Erased));
    }

    #[test]
    fn nothing_but_registration_applies_to_an_unknown_patient_and_registration_only_once() {
        let certify = PatientCommand::CertifyCareLevel {
            certification: CareLevelCertification {
                level: CareLevel::SupportLevel1,
                valid_from: date("2026-04-01"),
                valid_until: date("2027-03-31"),
            },
        };
        assert_eq!(decide(None, certify), Err(PatientError::NotRegistered));
        let state = given(&[registered()]);
        assert_eq!(
            decide(state.as_ref(), register(details(), facts())),
            Err(PatientError::AlreadyRegistered)
        );
    }
}
