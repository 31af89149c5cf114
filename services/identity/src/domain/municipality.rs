//! A municipality of the register, with its areas.

use std::collections::BTreeMap;

use identity_api::events::IdentityEvent;
use identity_api::municipalities::AreaKind;
use japanese::LocalGovernmentCode;

use super::{Invalid, normalised_kana, normalised_name, slug};

/// What the register knows of one municipality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipality {
    pub code: String,
    pub name: String,
    pub name_kana: String,
    pub areas: BTreeMap<String, Area>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    pub kind: AreaKind,
    pub name: String,
    pub name_kana: String,
}

/// What the operator asks of a municipality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MunicipalityCommand {
    Register {
        code: String,
        name: String,
        name_kana: String,
    },
    Rename {
        name: String,
        name_kana: String,
    },
    AddArea {
        area_id: String,
        kind: AreaKind,
        name: String,
        name_kana: String,
    },
    RemoveArea {
        area_id: String,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MunicipalityError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("municipality {0} is already registered")]
    AlreadyRegistered(String),
    #[error("no municipality is registered under this code")]
    NotRegistered,
    #[error("area {0} already exists")]
    AreaExists(String),
    #[error("no area {0}")]
    NoSuchArea(String),
}

/// Checks a code the way every command and query does: the check digit must hold.
pub fn parse_code(field: &str, code: &str) -> Result<LocalGovernmentCode, Invalid> {
    LocalGovernmentCode::parse(code).map_err(|e| Invalid::new(field, e))
}

/// Decides what a command does to a municipality (`state` is `None` while it is not
/// registered). `Ok(None)`: the command asks for what already holds, so nothing happens.
pub fn decide(
    state: Option<&Municipality>,
    command: MunicipalityCommand,
) -> Result<Option<IdentityEvent>, MunicipalityError> {
    use MunicipalityCommand as C;
    match (state, command) {
        (Some(m), C::Register { .. }) => Err(MunicipalityError::AlreadyRegistered(m.code.clone())),
        (
            None,
            C::Register {
                code,
                name,
                name_kana,
            },
        ) => {
            let code = parse_code("/code", &code)?;
            Ok(Some(IdentityEvent::MunicipalityRegistered {
                prefecture_code: format!("{:02}", code.prefecture().code()),
                code: code.as_str().to_owned(),
                name: normalised_name("/name", &name)?,
                name_kana: normalised_kana("/name_kana", &name_kana)?,
            }))
        }
        (None, _) => Err(MunicipalityError::NotRegistered),
        (Some(m), C::Rename { name, name_kana }) => {
            let name = normalised_name("/name", &name)?;
            let name_kana = normalised_kana("/name_kana", &name_kana)?;
            if name == m.name && name_kana == m.name_kana {
                return Ok(None);
            }
            Ok(Some(IdentityEvent::MunicipalityRenamed {
                code: m.code.clone(),
                name,
                name_kana,
            }))
        }
        (
            Some(m),
            C::AddArea {
                area_id,
                kind,
                name,
                name_kana,
            },
        ) => {
            let area_id = slug("/area_id", &area_id)?;
            let name = normalised_name("/name", &name)?;
            let name_kana = normalised_kana("/name_kana", &name_kana)?;
            if m.areas.contains_key(&area_id) {
                return Err(MunicipalityError::AreaExists(area_id));
            }
            Ok(Some(IdentityEvent::AreaAdded {
                code: m.code.clone(),
                area_id,
                kind,
                name,
                name_kana,
            }))
        }
        (Some(m), C::RemoveArea { area_id }) => {
            if !m.areas.contains_key(&area_id) {
                return Err(MunicipalityError::NoSuchArea(area_id));
            }
            Ok(Some(IdentityEvent::AreaRemoved {
                code: m.code.clone(),
                area_id,
            }))
        }
    }
}

/// Folds one event into the state. Events of other aggregates leave it unchanged.
pub fn evolve(state: Option<Municipality>, event: &IdentityEvent) -> Option<Municipality> {
    use IdentityEvent as E;
    match (state, event) {
        (
            None,
            E::MunicipalityRegistered {
                code,
                name,
                name_kana,
                ..
            },
        ) => Some(Municipality {
            code: code.clone(),
            name: name.clone(),
            name_kana: name_kana.clone(),
            areas: BTreeMap::new(),
        }),
        (
            Some(mut m),
            E::MunicipalityRenamed {
                name, name_kana, ..
            },
        ) => {
            m.name = name.clone();
            m.name_kana = name_kana.clone();
            Some(m)
        }
        (
            Some(mut m),
            E::AreaAdded {
                area_id,
                kind,
                name,
                name_kana,
                ..
            },
        ) => {
            m.areas.insert(
                area_id.clone(),
                Area {
                    kind: *kind,
                    name: name.clone(),
                    name_kana: name_kana.clone(),
                },
            );
            Some(m)
        }
        (Some(mut m), E::AreaRemoved { area_id, .. }) => {
            m.areas.remove(area_id);
            Some(m)
        }
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(events: &[IdentityEvent]) -> Option<Municipality> {
        events.iter().fold(None, evolve)
    }

    fn registered_izumo() -> IdentityEvent {
        IdentityEvent::MunicipalityRegistered {
            code: "322032".into(),
            name: "出雲市".into(),
            name_kana: "イズモシ".into(),
            prefecture_code: "32".into(),
        }
    }

    fn register(code: &str, kana: &str) -> MunicipalityCommand {
        MunicipalityCommand::Register {
            code: code.into(),
            name: "出雲市".into(),
            name_kana: kana.into(),
        }
    }

    #[test]
    fn registering_a_municipality_normalises_its_reading_and_finds_its_prefecture() {
        let event = decide(None, register("322032", "ｲｽﾞﾓｼ")).unwrap();
        assert_eq!(event, Some(registered_izumo()));
    }

    #[test]
    fn a_wrong_check_digit_is_refused_naming_the_code() {
        let err = decide(None, register("322031", "イズモシ")).unwrap_err();
        let MunicipalityError::Invalid(invalid) = err else {
            panic!("{err:?}")
        };
        assert_eq!(invalid.field, "/code");
    }

    #[test]
    fn a_reading_in_kanji_is_refused_naming_the_reading() {
        let err = decide(None, register("322032", "出雲")).unwrap_err();
        assert!(
            matches!(err, MunicipalityError::Invalid(Invalid { ref field, .. }) if field == "/name_kana")
        );
    }

    #[test]
    fn a_municipality_is_registered_only_once() {
        let state = given(&[registered_izumo()]);
        let err = decide(state.as_ref(), register("322032", "イズモシ")).unwrap_err();
        assert_eq!(err, MunicipalityError::AlreadyRegistered("322032".into()));
    }

    #[test]
    fn areas_are_added_once_and_removed_when_present() {
        let add = MunicipalityCommand::AddArea {
            area_id: "hirata".into(),
            kind: AreaKind::DailyLifeArea,
            name: "平田".into(),
            name_kana: "ひらた".into(),
        };
        let added = decide(given(&[registered_izumo()]).as_ref(), add.clone())
            .unwrap()
            .unwrap();
        let state = given(&[registered_izumo(), added.clone()]);
        assert_eq!(state.as_ref().unwrap().areas["hirata"].name_kana, "ヒラタ");
        assert_eq!(
            decide(state.as_ref(), add).unwrap_err(),
            MunicipalityError::AreaExists("hirata".into())
        );
        let removed = decide(
            state.as_ref(),
            MunicipalityCommand::RemoveArea {
                area_id: "hirata".into(),
            },
        )
        .unwrap()
        .unwrap();
        assert!(
            given(&[registered_izumo(), added, removed])
                .unwrap()
                .areas
                .is_empty()
        );
    }

    #[test]
    fn renaming_to_the_current_name_changes_nothing() {
        let rename = MunicipalityCommand::Rename {
            name: "出雲市".into(),
            name_kana: "いずもし".into(),
        };
        assert_eq!(
            decide(given(&[registered_izumo()]).as_ref(), rename),
            Ok(None)
        );
    }

    #[test]
    fn an_area_id_that_could_break_a_subject_is_refused() {
        let add = MunicipalityCommand::AddArea {
            area_id: "a.b".into(),
            kind: AreaKind::Ward,
            name: "x".into(),
            name_kana: "エックス".into(),
        };
        let err = decide(given(&[registered_izumo()]).as_ref(), add).unwrap_err();
        assert!(
            matches!(err, MunicipalityError::Invalid(Invalid { ref field, .. }) if field == "/area_id")
        );
    }

    #[test]
    fn nothing_but_registration_applies_to_an_unknown_municipality() {
        let err = decide(
            None,
            MunicipalityCommand::Rename {
                name: "a".into(),
                name_kana: "ア".into(),
            },
        )
        .unwrap_err();
        assert_eq!(err, MunicipalityError::NotRegistered);
    }
}
