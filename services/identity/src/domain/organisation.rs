//! An organisation (法人): the legal entity that runs service sites.

use identity_api::events::IdentityEvent;
use identity_api::organisations::OrganisationKind;

use super::municipality::parse_code;
use super::numbers::corporate_number;
use super::{Invalid, normalised_kana, normalised_name};

/// What the directory knows of one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub organisation_id: String,
    pub name: String,
    pub name_kana: String,
}

/// Facts the handler looked up for a registration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrganisationFacts {
    /// The home municipality is registered.
    pub home_registered: bool,
    /// Another organisation already holds the corporate number (its id).
    pub corporate_number_holder: Option<String>,
}

/// What the operator asks of an organisation. The id is chosen by the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganisationCommand {
    Register {
        organisation_id: String,
        name: String,
        name_kana: String,
        corporate_number: Option<String>,
        kind: OrganisationKind,
        home_municipality: String,
        facts: OrganisationFacts,
    },
    Rename {
        name: String,
        name_kana: String,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganisationError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("organisation {0} is already registered")]
    AlreadyRegistered(String),
    #[error("no such organisation")]
    NotRegistered,
    #[error("organisation {0} already holds this corporate number")]
    CorporateNumberTaken(String),
}

/// Decides what a command does to an organisation (`state` is `None` while it is not
/// registered). `Ok(None)`: the command asks for what already holds.
pub fn decide(
    state: Option<&Organisation>,
    command: OrganisationCommand,
) -> Result<Option<IdentityEvent>, OrganisationError> {
    use OrganisationCommand as C;
    match (state, command) {
        (Some(o), C::Register { .. }) => Err(OrganisationError::AlreadyRegistered(
            o.organisation_id.clone(),
        )),
        (
            None,
            C::Register {
                organisation_id,
                name,
                name_kana,
                corporate_number: number,
                kind,
                home_municipality,
                facts,
            },
        ) => {
            let name = normalised_name("/name", &name)?;
            let name_kana = normalised_kana("/name_kana", &name_kana)?;
            let number = number
                .map(|n| corporate_number("/corporate_number", &n))
                .transpose()?;
            let home = parse_code("/home_municipality", &home_municipality)?;
            if !facts.home_registered {
                return Err(Invalid::new(
                    "/home_municipality",
                    "no municipality is registered under this code",
                )
                .into());
            }
            if let Some(holder) = facts.corporate_number_holder {
                return Err(OrganisationError::CorporateNumberTaken(holder));
            }
            Ok(Some(IdentityEvent::OrganisationRegistered {
                organisation_id,
                name,
                name_kana,
                corporate_number: number,
                kind,
                home_municipality: home.as_str().to_owned(),
            }))
        }
        (None, _) => Err(OrganisationError::NotRegistered),
        (Some(o), C::Rename { name, name_kana }) => {
            let name = normalised_name("/name", &name)?;
            let name_kana = normalised_kana("/name_kana", &name_kana)?;
            if name == o.name && name_kana == o.name_kana {
                return Ok(None);
            }
            Ok(Some(IdentityEvent::OrganisationRenamed {
                organisation_id: o.organisation_id.clone(),
                name,
                name_kana,
            }))
        }
    }
}

/// Folds one event into the state. Events of other aggregates leave it unchanged.
pub fn evolve(state: Option<Organisation>, event: &IdentityEvent) -> Option<Organisation> {
    use IdentityEvent as E;
    match (state, event) {
        (
            None,
            E::OrganisationRegistered {
                organisation_id,
                name,
                name_kana,
                ..
            },
        ) => Some(Organisation {
            organisation_id: organisation_id.clone(),
            name: name.clone(),
            name_kana: name_kana.clone(),
        }),
        (
            Some(mut o),
            E::OrganisationRenamed {
                name, name_kana, ..
            },
        ) => {
            o.name = name.clone();
            o.name_kana = name_kana.clone();
            Some(o)
        }
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190a0c0-0000-7000-8000-000000000001";

    fn given(events: &[IdentityEvent]) -> Option<Organisation> {
        events.iter().fold(None, evolve)
    }

    fn register(corporate_number: Option<&str>, facts: OrganisationFacts) -> OrganisationCommand {
        OrganisationCommand::Register {
            organisation_id: ID.into(),
            name: "医療法人　出雲会".into(),
            name_kana: "ｲﾘｮｳﾎｳｼﾞﾝ ｲｽﾞﾓｶｲ".into(),
            corporate_number: corporate_number.map(str::to_owned),
            kind: OrganisationKind::MedicalCorporation,
            home_municipality: "322032".into(),
            facts,
        }
    }

    fn registered() -> IdentityEvent {
        IdentityEvent::OrganisationRegistered {
            organisation_id: ID.into(),
            name: "医療法人 出雲会".into(),
            name_kana: "イリョウホウジン イズモカイ".into(),
            corporate_number: Some("7000012050002".into()),
            kind: OrganisationKind::MedicalCorporation,
            home_municipality: "322032".into(),
        }
    }

    fn home_registered() -> OrganisationFacts {
        OrganisationFacts {
            home_registered: true,
            corporate_number_holder: None,
        }
    }

    fn field_of(err: OrganisationError) -> String {
        match err {
            OrganisationError::Invalid(i) => i.field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn registering_an_organisation_normalises_its_name_and_keeps_a_valid_corporate_number() {
        let event = decide(None, register(Some("7000012050002"), home_registered())).unwrap();
        assert_eq!(event, Some(registered()));
    }

    #[test]
    fn a_corporate_number_whose_check_digit_does_not_match_is_refused() {
        let err = decide(None, register(Some("1000012050002"), home_registered())).unwrap_err();
        assert_eq!(field_of(err), "/corporate_number");
    }

    #[test]
    fn an_organisation_may_have_no_corporate_number() {
        let event = decide(None, register(None, home_registered()))
            .unwrap()
            .unwrap();
        assert!(matches!(
            event,
            IdentityEvent::OrganisationRegistered {
                corporate_number: None,
                ..
            }
        ));
    }

    #[test]
    fn an_organisation_belongs_to_a_registered_municipality() {
        let err = decide(None, register(None, OrganisationFacts::default())).unwrap_err();
        assert_eq!(field_of(err), "/home_municipality");
        let mut bad_code = register(None, home_registered());
        if let OrganisationCommand::Register {
            home_municipality, ..
        } = &mut bad_code
        {
            *home_municipality = "322031".into();
        }
        assert_eq!(
            field_of(decide(None, bad_code).unwrap_err()),
            "/home_municipality"
        );
    }

    #[test]
    fn a_corporate_number_another_organisation_holds_is_refused() {
        let facts = OrganisationFacts {
            home_registered: true,
            corporate_number_holder: Some("other".into()),
        };
        assert_eq!(
            decide(None, register(Some("7000012050002"), facts)).unwrap_err(),
            OrganisationError::CorporateNumberTaken("other".into())
        );
    }

    #[test]
    fn an_organisation_is_renamed_and_renaming_to_its_name_changes_nothing() {
        let state = given(&[registered()]);
        let same = OrganisationCommand::Rename {
            name: "医療法人 出雲会".into(),
            name_kana: "いりょうほうじん いずもかい".into(),
        };
        assert_eq!(decide(state.as_ref(), same), Ok(None));
        let rename = OrganisationCommand::Rename {
            name: "医療法人社団 出雲会".into(),
            name_kana: "イリョウホウジンシャダン イズモカイ".into(),
        };
        let renamed = decide(state.as_ref(), rename).unwrap().unwrap();
        assert_eq!(
            given(&[registered(), renamed]).unwrap().name,
            "医療法人社団 出雲会"
        );
    }

    #[test]
    fn nothing_but_registration_applies_to_an_unknown_organisation() {
        let rename = OrganisationCommand::Rename {
            name: "a".into(),
            name_kana: "ア".into(),
        };
        assert_eq!(
            decide(None, rename).unwrap_err(),
            OrganisationError::NotRegistered
        );
        let state = given(&[registered()]);
        assert_eq!(
            decide(state.as_ref(), register(None, home_registered())).unwrap_err(),
            OrganisationError::AlreadyRegistered(ID.into())
        );
    }
}
