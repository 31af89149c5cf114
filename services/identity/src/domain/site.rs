//! A service site (事業所): a place an organisation runs, with its provider number, service
//! types and the municipalities it serves. Consent and membership name sites, so a site is
//! an aggregate of its own.

use std::collections::BTreeSet;

use identity_api::events::{IdentityEvent, SiteEntry};
use identity_api::organisations::SiteDetails;
use identity_api::service_types;

use super::municipality::parse_code;
use super::numbers::{phone, provider_number};
use super::{Invalid, normalised_kana, normalised_name, slug};

/// More than any prefecture has municipalities (Hokkaido: 179).
pub const MAX_MUNICIPALITIES_SERVED: usize = 200;

/// More entries than the list of service types has codes, so only repeats are refused.
pub const MAX_SERVICE_TYPES: usize = 64;

/// What the directory knows of one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub site_id: String,
    pub organisation_id: String,
    pub entry: SiteEntry,
    pub closed: bool,
}

/// Facts the handler looked up for a site's details, so the decision stays pure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteFacts {
    /// Which of the codes named (home and served, normalised) are registered.
    pub registered: BTreeSet<String>,
    /// The areas of the home municipality (empty when it has none or is not registered).
    pub home_areas: BTreeSet<String>,
    /// Another open site already holds the provider number (its id).
    pub provider_number_holder: Option<String>,
}

/// What the operator asks of a site. The id is chosen by the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteCommand {
    Register {
        site_id: String,
        organisation_id: String,
        organisation_registered: bool,
        details: SiteDetails,
        facts: SiteFacts,
    },
    ChangeDetails {
        details: SiteDetails,
        facts: SiteFacts,
    },
    Close,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("site {0} is already registered")]
    AlreadyRegistered(String),
    #[error("no such site")]
    NotRegistered,
    #[error("no such organisation")]
    NoSuchOrganisation,
    #[error("the site is closed; its details no longer change")]
    Closed,
    #[error("site {0} already holds this provider number")]
    ProviderNumberTaken(String),
}

const NOT_REGISTERED: &str = "no municipality is registered under this code";

/// Checks and normalises the details a person sent into the entry the events carry.
/// The first field at fault is named.
fn entry(details: SiteDetails, facts: &SiteFacts) -> Result<SiteEntry, SiteError> {
    let number = details
        .provider_number
        .map(|n| provider_number("/provider_number", &n))
        .transpose()?;
    let name = normalised_name("/name", &details.name)?;
    let name_kana = normalised_kana("/name_kana", &details.name_kana)?;

    if details.service_types.len() > MAX_SERVICE_TYPES {
        let reason = format!("a site lists at most {MAX_SERVICE_TYPES} service types");
        return Err(Invalid::new("/service_types", reason).into());
    }
    let mut types = BTreeSet::new();
    for (i, code) in details.service_types.iter().enumerate() {
        let field = format!("/service_types/{i}");
        let code = code.trim().to_ascii_uppercase();
        let Some(known) = service_types::find(&code) else {
            return Err(Invalid::new(
                field,
                "not a service type code of the long-term care insurance (see data/service_types.tsv)",
            )
            .into());
        };
        if !types.insert(known.code.to_owned()) {
            return Err(Invalid::new(field, "listed twice").into());
        }
    }

    let home = parse_code("/home_municipality", &details.home_municipality)?;
    let home = home.as_str().to_owned();
    if !facts.registered.contains(&home) {
        return Err(Invalid::new("/home_municipality", NOT_REGISTERED).into());
    }
    let area_id = match details.area_id {
        None => None,
        Some(a) => {
            let a = slug("/area_id", &a)?;
            if !facts.home_areas.contains(&a) {
                return Err(Invalid::new(
                    "/area_id",
                    format!("municipality {home} has no area {a}"),
                )
                .into());
            }
            Some(a)
        }
    };

    if details.municipalities_served.len() > MAX_MUNICIPALITIES_SERVED {
        let reason = format!("a site serves at most {MAX_MUNICIPALITIES_SERVED} municipalities");
        return Err(Invalid::new("/municipalities_served", reason).into());
    }
    let mut listed = BTreeSet::new();
    for (i, code) in details.municipalities_served.iter().enumerate() {
        let field = format!("/municipalities_served/{i}");
        let code = parse_code(&field, code)?.as_str().to_owned();
        if !facts.registered.contains(&code) {
            return Err(Invalid::new(field, NOT_REGISTERED).into());
        }
        if !listed.insert(code) {
            return Err(Invalid::new(field, "listed twice").into());
        }
    }
    // The home municipality is always served, whether listed or not.
    listed.insert(home.clone());

    let address = normalised_name("/address", &details.address)?;
    let phone_number = phone("/phone", &details.phone)?;
    let fax = details.fax.map(|f| phone("/fax", &f)).transpose()?;
    let contact_24h = details
        .contact_24h
        .map(|c| phone("/contact_24h", &c))
        .transpose()?;

    if let Some(holder) = &facts.provider_number_holder {
        return Err(SiteError::ProviderNumberTaken(holder.clone()));
    }
    Ok(SiteEntry {
        provider_number: number,
        name,
        name_kana,
        kind: details.kind,
        service_types: types.into_iter().collect(),
        home_municipality: home,
        area_id,
        municipalities_served: listed.into_iter().collect(),
        address,
        phone: phone_number,
        fax,
        contact_24h,
    })
}

/// Decides what a command does to a site (`state` is `None` while it is not registered).
/// `Ok(None)`: the command asks for what already holds.
pub fn decide(
    state: Option<&Site>,
    command: SiteCommand,
) -> Result<Option<IdentityEvent>, SiteError> {
    use SiteCommand as C;
    match (state, command) {
        (Some(s), C::Register { .. }) => Err(SiteError::AlreadyRegistered(s.site_id.clone())),
        (
            None,
            C::Register {
                site_id,
                organisation_id,
                organisation_registered,
                details,
                facts,
            },
        ) => {
            if !organisation_registered {
                return Err(SiteError::NoSuchOrganisation);
            }
            Ok(Some(IdentityEvent::SiteRegistered {
                site_id,
                organisation_id,
                entry: entry(details, &facts)?,
            }))
        }
        (None, _) => Err(SiteError::NotRegistered),
        (Some(s), C::ChangeDetails { details, facts }) => {
            if s.closed {
                return Err(SiteError::Closed);
            }
            let entry = entry(details, &facts)?;
            if entry == s.entry {
                return Ok(None);
            }
            Ok(Some(IdentityEvent::SiteDetailsChanged {
                site_id: s.site_id.clone(),
                entry,
            }))
        }
        // Closing a closed site asks for what already holds.
        (Some(s), C::Close) if s.closed => Ok(None),
        (Some(s), C::Close) => Ok(Some(IdentityEvent::SiteClosed {
            site_id: s.site_id.clone(),
        })),
    }
}

/// Folds one event into the state. Events of other aggregates leave it unchanged.
pub fn evolve(state: Option<Site>, event: &IdentityEvent) -> Option<Site> {
    use IdentityEvent as E;
    match (state, event) {
        (
            None,
            E::SiteRegistered {
                site_id,
                organisation_id,
                entry,
            },
        ) => Some(Site {
            site_id: site_id.clone(),
            organisation_id: organisation_id.clone(),
            entry: entry.clone(),
            closed: false,
        }),
        (Some(mut s), E::SiteDetailsChanged { entry, .. }) => {
            s.entry = entry.clone();
            Some(s)
        }
        (Some(mut s), E::SiteClosed { .. }) => {
            s.closed = true;
            Some(s)
        }
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use identity_api::organisations::SiteKind;

    use super::*;

    const SITE: &str = "0190a0c0-0000-7000-8000-000000000003";
    const ORG: &str = "0190a0c0-0000-7000-8000-000000000001";
    const IZUMO: &str = "322032";
    const UNNAN: &str = "322091";

    fn given(events: &[IdentityEvent]) -> Option<Site> {
        events.iter().fold(None, evolve)
    }

    fn nursing_station() -> SiteDetails {
        SiteDetails {
            provider_number: Some("3260190012".into()),
            name: "出雲訪問看護ステーション".into(),
            name_kana: "いずもほうもんかんごすてーしょん".into(),
            kind: SiteKind::HomeVisitNursingStation,
            service_types: vec!["13".into(), "2a".into()],
            home_municipality: IZUMO.into(),
            area_id: Some("hirata".into()),
            municipalities_served: vec![UNNAN.into()],
            address: "島根県出雲市平田町1".into(),
            phone: "0853-62-0000".into(),
            fax: Some("0853-62-0001".into()),
            contact_24h: Some("090-1234-5678".into()),
        }
    }

    fn facts() -> SiteFacts {
        SiteFacts {
            registered: [IZUMO, UNNAN].into_iter().map(str::to_owned).collect(),
            home_areas: ["hirata".to_owned()].into(),
            provider_number_holder: None,
        }
    }

    fn register(details: SiteDetails, facts: SiteFacts) -> SiteCommand {
        SiteCommand::Register {
            site_id: SITE.into(),
            organisation_id: ORG.into(),
            organisation_registered: true,
            details,
            facts,
        }
    }

    fn registered() -> IdentityEvent {
        decide(None, register(nursing_station(), facts()))
            .unwrap()
            .unwrap()
    }

    fn field_of(result: Result<Option<IdentityEvent>, SiteError>) -> String {
        match result {
            Err(SiteError::Invalid(i)) => i.field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn a_home_visit_nursing_station_is_registered_with_its_24_hour_contact() {
        let IdentityEvent::SiteRegistered {
            site_id,
            organisation_id,
            entry,
        } = registered()
        else {
            panic!("not a registration")
        };
        assert_eq!((site_id.as_str(), organisation_id.as_str()), (SITE, ORG));
        assert_eq!(entry.name_kana, "イズモホウモンカンゴステーション");
        assert_eq!(entry.service_types, vec!["13", "2A"]);
        assert_eq!(
            entry.municipalities_served,
            vec![IZUMO, UNNAN],
            "the home municipality is served too"
        );
        assert_eq!(entry.contact_24h.as_deref(), Some("090-1234-5678"));
    }

    #[test]
    fn an_unknown_service_type_code_is_named_by_its_position() {
        let mut details = nursing_station();
        details.service_types = vec!["13".into(), "99".into()];
        assert_eq!(
            field_of(decide(None, register(details, facts()))),
            "/service_types/1"
        );
    }

    #[test]
    fn a_service_type_listed_twice_is_refused() {
        let mut details = nursing_station();
        details.service_types = vec!["13".into(), " 13".into()];
        assert_eq!(
            field_of(decide(None, register(details, facts()))),
            "/service_types/1"
        );
    }

    #[test]
    fn a_provider_number_with_a_prefecture_that_does_not_exist_is_refused() {
        let mut details = nursing_station();
        details.provider_number = Some("4860190012".into());
        assert_eq!(
            field_of(decide(None, register(details, facts()))),
            "/provider_number"
        );
    }

    #[test]
    fn a_provider_number_another_site_holds_is_refused() {
        let mut facts = facts();
        facts.provider_number_holder = Some("other".into());
        assert_eq!(
            decide(None, register(nursing_station(), facts)),
            Err(SiteError::ProviderNumberTaken("other".into()))
        );
    }

    #[test]
    fn an_area_that_is_not_in_the_home_municipality_is_refused() {
        let mut details = nursing_station();
        details.area_id = Some("aoba".into());
        assert_eq!(
            field_of(decide(None, register(details, facts()))),
            "/area_id"
        );
    }

    #[test]
    fn home_and_served_municipalities_must_be_registered() {
        let mut only_home = facts();
        only_home.registered.remove(UNNAN);
        assert_eq!(
            field_of(decide(None, register(nursing_station(), only_home))),
            "/municipalities_served/0"
        );
        let mut details = nursing_station();
        details.home_municipality = "141003".into();
        assert_eq!(
            field_of(decide(None, register(details, facts()))),
            "/home_municipality"
        );
    }

    #[test]
    fn a_phone_number_that_is_not_japanese_is_refused_naming_the_field() {
        let mut details = nursing_station();
        details.phone = "+81 853 62 0000".into();
        assert_eq!(field_of(decide(None, register(details, facts()))), "/phone");
        let mut details = nursing_station();
        details.contact_24h = Some("090-1234".into());
        assert_eq!(
            field_of(decide(None, register(details, facts()))),
            "/contact_24h"
        );
    }

    #[test]
    fn a_site_needs_a_registered_organisation() {
        let command = SiteCommand::Register {
            site_id: SITE.into(),
            organisation_id: ORG.into(),
            organisation_registered: false,
            details: nursing_station(),
            facts: facts(),
        };
        assert_eq!(decide(None, command), Err(SiteError::NoSuchOrganisation));
    }

    #[test]
    fn changed_details_replace_the_whole_entry_and_the_same_details_change_nothing() {
        let state = given(&[registered()]);
        let same = SiteCommand::ChangeDetails {
            details: nursing_station(),
            facts: facts(),
        };
        assert_eq!(decide(state.as_ref(), same), Ok(None));
        let mut details = nursing_station();
        details.fax = None;
        details.municipalities_served = vec![];
        let changed = decide(
            state.as_ref(),
            SiteCommand::ChangeDetails {
                details,
                facts: facts(),
            },
        )
        .unwrap()
        .unwrap();
        let site = given(&[registered(), changed]).unwrap();
        assert_eq!(site.entry.fax, None);
        assert_eq!(site.entry.municipalities_served, vec![IZUMO]);
    }

    #[test]
    fn a_closed_site_stays_closed_and_its_details_no_longer_change() {
        let state = given(&[registered()]);
        let closed = decide(state.as_ref(), SiteCommand::Close).unwrap().unwrap();
        let state = given(&[registered(), closed]);
        assert!(state.as_ref().unwrap().closed);
        assert_eq!(decide(state.as_ref(), SiteCommand::Close), Ok(None));
        let change = SiteCommand::ChangeDetails {
            details: nursing_station(),
            facts: facts(),
        };
        assert_eq!(decide(state.as_ref(), change), Err(SiteError::Closed));
    }

    #[test]
    fn nothing_but_registration_applies_to_an_unknown_site() {
        assert_eq!(
            decide(None, SiteCommand::Close),
            Err(SiteError::NotRegistered)
        );
    }
}
