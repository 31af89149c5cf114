//! A patient's consents, as regional networks practise them: the receiving site records a
//! signed form (pending), the secretariat verifies and activates it; it is amended (a new
//! version), withdrawn (at once, every version) or expires. Every version is kept.
//!
//! Also here: break-glass, the emergency exception to consent.
//!
//! The consents live on the patient's subject, beside the registration and the team: the
//! state knows whether the patient is registered and still in care from the same events.

use std::collections::BTreeMap;

use ::consent::{
    BreakGlassGrant, BreakGlassRefused, CategorySet, ConsentStatus, ConsentTerms, ConsentVersion,
    GivenBy, ObtainedBy, SiteId,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use identity_api::events::IdentityEvent;
use identity_api::patients::{
    BreakGlassEndReason, ConsentDetails, ConsentGiver, ConsentPersonal, ReceivedForm,
};
use permissions::Caller;

use super::{Invalid, normalised_name};

/// The longest rejection reason, in characters.
pub const MAX_REJECTION_CHARS: usize = 500;

/// A patient's consents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consents {
    pub patient_id: String,
    pub care_ended: bool,
    /// By consent id.
    pub consents: BTreeMap<String, Consent>,
    /// Break-glass grants, oldest first.
    pub break_glass: Vec<Grant>,
}

/// A break-glass grant and, once recorded, its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grant: BreakGlassGrant,
    pub ended_at: Option<DateTime<Utc>>,
}

/// One consent and its versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub consent_id: String,
    /// Every version, oldest first, with its status.
    pub versions: Vec<ConsentVersion>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

impl Consent {
    /// The version in force (active), if any.
    pub fn in_force(&self) -> Option<&ConsentVersion> {
        self.versions
            .iter()
            .rev()
            .find(|v| v.status == ConsentStatus::Active)
    }

    /// The version waiting for verification, if any.
    pub fn pending(&self) -> Option<&ConsentVersion> {
        self.versions
            .iter()
            .find(|v| v.status == ConsentStatus::Pending)
    }

    fn version(&self, version: u32) -> Option<&ConsentVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    fn version_mut(&mut self, version: u32) -> Option<&mut ConsentVersion> {
        self.versions.iter_mut().find(|v| v.version == version)
    }
}

/// Facts the handler looked up for a form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormFacts {
    /// The receiving site is open and the caller works there.
    pub receiving_site_ok: bool,
    /// Sites the model names that are not open sites of the register.
    pub unknown_sites: Vec<String>,
    /// Today in Japan (a form cannot be signed later).
    pub today: Option<NaiveDate>,
}

/// What is asked of a patient's consents. Ids, the caller and time come in the command.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsentCommand {
    /// The receiving site records a signed form: version 1, pending.
    Record {
        consent_id: String,
        details: ConsentDetails,
        recorded_by: String,
        facts: FormFacts,
    },
    /// A new version of a consent.
    Amend {
        consent_id: String,
        details: ConsentDetails,
        recorded_by: String,
        facts: FormFacts,
    },
    /// The secretariat verifies a pending version and activates it.
    Verify {
        consent_id: String,
        version: u32,
        verified_by: String,
    },
    /// The secretariat refuses a pending version.
    Reject {
        consent_id: String,
        version: u32,
        reason: String,
    },
    /// The patient withdraws (told now, or earlier and recorded now).
    Withdraw {
        consent_id: String,
        effective_at: Option<DateTime<Utc>>,
        recorded_by: String,
        now: DateTime<Utc>,
    },
    /// The expiry reactor marks a version whose last day has passed.
    Expire {
        consent_id: String,
        version: u32,
        now: DateTime<Utc>,
    },
    /// The service records the end of a grant whose `expires_at` has passed.
    EndBreakGlass {
        grant_id: String,
        now: DateTime<Utc>,
    },
    /// A clinical professional opens the patient in an emergency.
    OpenBreakGlass {
        grant_id: String,
        caller: Caller,
        reason: String,
        minutes: Option<u32>,
        site: Option<String>,
        now: DateTime<Utc>,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("no such patient")]
    PatientNotRegistered,
    #[error("the patient's care has ended")]
    CareEnded,
    #[error("consent {0} is already recorded")]
    AlreadyRecorded(String),
    #[error("no such consent")]
    NoSuchConsent,
    #[error("the consent has no version {0}")]
    NoSuchVersion(u32),
    #[error("version {0} is not waiting for verification")]
    NotPending(u32),
    #[error("version {0} is waiting for verification; verify or reject it first")]
    VersionWaiting(u32),
    #[error("the consent was withdrawn")]
    Withdrawn,
    #[error("version {0} is valid until a later day")]
    NotExpiredYet(u32),
    #[error("break-glass not permitted: {0}")]
    BreakGlassNotPermitted(permissions::DenialReason),
    #[error("no such break-glass grant")]
    NoSuchGrant,
    #[error("the break-glass grant is open until {0}")]
    GrantStillOpen(DateTime<Utc>),
}

const VERBAL: &str = "only a consent given in writing or electronically can be recorded: \
                      health and care information is special-care personal information";

/// Checks a form and turns it into the terms and personal fields of an event.
fn terms(
    details: ConsentDetails,
    recorded_by: &str,
    facts: &FormFacts,
) -> Result<(ConsentTerms, ConsentPersonal), ConsentError> {
    let form_kind = match details.form {
        ReceivedForm::Written => ::consent::ConsentForm::Written,
        ReceivedForm::Electronic => ::consent::ConsentForm::Electronic,
        ReceivedForm::Verbal => return Err(Invalid::new("/form", VERBAL).into()),
    };
    let (given_by, proxy_name) = match details.given_by {
        ConsentGiver::Patient => (GivenBy::Patient, None),
        ConsentGiver::Proxy { name, relationship } => {
            let Some(relationship) = relationship else {
                return Err(Invalid::new(
                    "/given_by/relationship",
                    "a proxy gives consent for a patient who cannot: say how they are related",
                )
                .into());
            };
            let name = normalised_name("/given_by/name", &name)?;
            (GivenBy::Proxy { relationship }, Some(name))
        }
    };
    if !facts.receiving_site_ok {
        return Err(Invalid::new("/received_at_site", "not an open site you work at").into());
    }
    let (list_field, named): (&str, Vec<&SiteId>) = match &details.model {
        ::consent::ConsentModel::AllParticipatingSites { excluded } => {
            ("/model/excluded", excluded.iter().collect())
        }
        ::consent::ConsentModel::ListedSites { sites } => ("/model/sites", sites.iter().collect()),
        ::consent::ConsentModel::SiteBySite { site } => ("/model/site", vec![site]),
    };
    if let Some(i) = named
        .iter()
        .position(|s| facts.unknown_sites.iter().any(|u| *s == u))
    {
        let field = if list_field == "/model/site" {
            list_field.to_owned()
        } else {
            format!("{list_field}/{i}")
        };
        return Err(Invalid::new(field, "no open site has this id").into());
    }
    if facts.today.is_some_and(|today| details.signed_on > today) {
        return Err(Invalid::new("/signed_on", "a form signed in the future").into());
    }
    let terms = ConsentTerms {
        model: details.model,
        categories: details.categories.iter().copied().collect::<CategorySet>(),
        valid_from: details.valid_from,
        valid_until: details.valid_until,
        family_information: details.family_information,
        form: form_kind,
        given_by,
        signed_on: details.signed_on,
        obtained_by: ObtainedBy {
            site: details.received_at_site.into(),
            member: recorded_by.into(),
        },
        scanned_form: details.scanned_form,
    };
    terms.check().map_err(|p| Invalid::new(p.field, p.reason))?;
    Ok((terms, ConsentPersonal { proxy_name }))
}

/// Decides what a command does to a patient's consents (`state` is `None` while the patient
/// is not registered). `Ok(None)`: the command asks for what already holds.
pub fn decide(
    state: Option<&Consents>,
    command: ConsentCommand,
) -> Result<Option<IdentityEvent>, ConsentError> {
    use ConsentCommand as C;
    let Some(s) = state else {
        return Err(ConsentError::PatientNotRegistered);
    };
    // A grant ends whatever became of the patient's care since it was opened.
    if s.care_ended && !matches!(command, C::EndBreakGlass { .. }) {
        return Err(ConsentError::CareEnded);
    }
    let patient_id = s.patient_id.clone();
    let existing = |id: &str| s.consents.get(id).ok_or(ConsentError::NoSuchConsent);
    match command {
        C::Record {
            consent_id,
            details,
            recorded_by,
            facts,
        } => {
            if s.consents.contains_key(&consent_id) {
                return Err(ConsentError::AlreadyRecorded(consent_id));
            }
            let (terms, personal) = terms(details, &recorded_by, &facts)?;
            Ok(Some(IdentityEvent::ConsentRecorded {
                patient_id,
                consent_id,
                version: 1,
                terms,
                personal: Some(personal),
            }))
        }
        C::Amend {
            consent_id,
            details,
            recorded_by,
            facts,
        } => {
            let c = existing(&consent_id)?;
            if c.withdrawn_at.is_some() {
                return Err(ConsentError::Withdrawn);
            }
            if let Some(waiting) = c.pending() {
                return Err(ConsentError::VersionWaiting(waiting.version));
            }
            let (terms, personal) = terms(details, &recorded_by, &facts)?;
            let in_force_at_once = c
                .in_force()
                .is_some_and(|now| terms.open_no_more_than(&now.terms));
            let version = c.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
            Ok(Some(IdentityEvent::ConsentAmended {
                patient_id,
                consent_id,
                version,
                terms,
                in_force_at_once,
                personal: Some(personal),
            }))
        }
        C::Verify {
            consent_id,
            version,
            verified_by,
        } => {
            let c = existing(&consent_id)?;
            let v = c
                .version(version)
                .ok_or(ConsentError::NoSuchVersion(version))?;
            match v.status {
                ConsentStatus::Active => Ok(None),
                ConsentStatus::Pending => Ok(Some(IdentityEvent::ConsentActivated {
                    patient_id,
                    consent_id,
                    version,
                    verified_by,
                })),
                ConsentStatus::Withdrawn => Err(ConsentError::Withdrawn),
                _ => Err(ConsentError::NotPending(version)),
            }
        }
        C::Reject {
            consent_id,
            version,
            reason,
        } => {
            let c = existing(&consent_id)?;
            let v = c
                .version(version)
                .ok_or(ConsentError::NoSuchVersion(version))?;
            match v.status {
                ConsentStatus::Rejected => Ok(None),
                ConsentStatus::Pending => {
                    let reason = reason.trim();
                    if reason.is_empty() || reason.chars().count() > MAX_REJECTION_CHARS {
                        return Err(Invalid::new(
                            "/reason",
                            "give a reason of 1 to 500 characters",
                        )
                        .into());
                    }
                    Ok(Some(IdentityEvent::ConsentRejected {
                        patient_id,
                        consent_id,
                        version,
                        reason: reason.to_owned(),
                    }))
                }
                _ => Err(ConsentError::NotPending(version)),
            }
        }
        C::Withdraw {
            consent_id,
            effective_at,
            recorded_by,
            now,
        } => {
            let c = existing(&consent_id)?;
            if c.withdrawn_at.is_some() {
                return Ok(None);
            }
            let effective_at = effective_at.unwrap_or(now);
            if effective_at > now {
                return Err(Invalid::new(
                    "/effective_at",
                    "a withdrawal is recorded when the patient has withdrawn, not in advance",
                )
                .into());
            }
            Ok(Some(IdentityEvent::ConsentWithdrawn {
                patient_id,
                consent_id,
                effective_at,
                recorded_by,
            }))
        }
        C::Expire {
            consent_id,
            version,
            now,
        } => {
            let c = existing(&consent_id)?;
            let v = c
                .version(version)
                .ok_or(ConsentError::NoSuchVersion(version))?;
            if v.status != ConsentStatus::Active {
                return Ok(None);
            }
            let ended = v
                .terms
                .valid_until
                .is_some_and(|last| ::consent::time::end_of_day(last) <= now);
            if !ended {
                return Err(ConsentError::NotExpiredYet(version));
            }
            Ok(Some(IdentityEvent::ConsentExpired {
                patient_id,
                consent_id,
                version,
            }))
        }
        C::EndBreakGlass { grant_id, now } => end_break_glass(s, grant_id, now),
        C::OpenBreakGlass {
            grant_id,
            caller,
            reason,
            minutes,
            site,
            now,
        } => {
            let duration = minutes.map(|m| Duration::minutes(i64::from(m)));
            let grant = BreakGlassGrant::open(grant_id.into(), &caller, &reason, now, duration)
                .map_err(|refused| match refused {
                    BreakGlassRefused::NotPermitted(rule) => {
                        ConsentError::BreakGlassNotPermitted(rule)
                    }
                    BreakGlassRefused::ReasonMissing
                    | BreakGlassRefused::ReasonUnreadable
                    | BreakGlassRefused::ReasonTooLong => Invalid::new("/reason", refused).into(),
                    BreakGlassRefused::DurationOutOfRange => {
                        Invalid::new("/minutes", refused).into()
                    }
                })?;
            if site
                .as_ref()
                .is_some_and(|s| !caller.sites.iter().any(|c| c == s))
            {
                return Err(Invalid::new("/site", "not a site you work at").into());
            }
            Ok(Some(IdentityEvent::BreakGlassOpened {
                patient_id,
                grant,
                site,
            }))
        }
    }
}

/// The end of a grant, once its `expires_at` has passed; `Ok(None)` once recorded.
fn end_break_glass(
    s: &Consents,
    grant_id: String,
    now: DateTime<Utc>,
) -> Result<Option<IdentityEvent>, ConsentError> {
    let g = s
        .break_glass
        .iter()
        .find(|g| g.grant.grant_id.as_str() == grant_id)
        .ok_or(ConsentError::NoSuchGrant)?;
    if g.ended_at.is_some() {
        return Ok(None);
    }
    if now < g.grant.expires_at {
        return Err(ConsentError::GrantStillOpen(g.grant.expires_at));
    }
    Ok(Some(IdentityEvent::BreakGlassEnded {
        patient_id: s.patient_id.clone(),
        grant_id,
        member_id: g.grant.member_id.as_str().to_owned(),
        ended_at: g.grant.expires_at,
        why: BreakGlassEndReason::Expired,
    }))
}

/// Folds one event into the state. Registration opens it; events of other aggregates leave
/// it unchanged.
pub fn evolve(state: Option<Consents>, event: &IdentityEvent) -> Option<Consents> {
    use IdentityEvent as E;
    let version = |consent_id: &str, version: u32, terms: &ConsentTerms, status| ConsentVersion {
        consent_id: consent_id.into(),
        version,
        terms: terms.clone(),
        status,
    };
    match (state, event) {
        (None, E::PatientRegistered { patient_id, .. }) => Some(Consents {
            patient_id: patient_id.clone(),
            care_ended: false,
            consents: BTreeMap::new(),
            break_glass: Vec::new(),
        }),
        (Some(mut s), E::PatientCareEnded { .. }) => {
            s.care_ended = true;
            Some(s)
        }
        (
            Some(mut s),
            E::ConsentRecorded {
                consent_id, terms, ..
            },
        ) => {
            s.consents.insert(
                consent_id.clone(),
                Consent {
                    consent_id: consent_id.clone(),
                    versions: vec![version(consent_id, 1, terms, ConsentStatus::Pending)],
                    withdrawn_at: None,
                },
            );
            Some(s)
        }
        (
            Some(mut s),
            E::ConsentAmended {
                consent_id,
                version: v,
                terms,
                in_force_at_once,
                ..
            },
        ) => {
            if let Some(c) = s.consents.get_mut(consent_id) {
                if *in_force_at_once {
                    supersede(c, *v);
                    c.versions
                        .push(version(consent_id, *v, terms, ConsentStatus::Active));
                } else {
                    c.versions
                        .push(version(consent_id, *v, terms, ConsentStatus::Pending));
                }
            }
            Some(s)
        }
        (
            Some(mut s),
            E::ConsentActivated {
                consent_id,
                version: v,
                ..
            },
        ) => {
            if let Some(c) = s.consents.get_mut(consent_id) {
                supersede(c, *v);
                if let Some(x) = c.version_mut(*v) {
                    x.status = ConsentStatus::Active;
                }
            }
            Some(s)
        }
        (
            Some(mut s),
            E::ConsentRejected {
                consent_id,
                version: v,
                ..
            },
        ) => {
            if let Some(x) = s
                .consents
                .get_mut(consent_id)
                .and_then(|c| c.version_mut(*v))
            {
                x.status = ConsentStatus::Rejected;
            }
            Some(s)
        }
        (
            Some(mut s),
            E::ConsentWithdrawn {
                consent_id,
                effective_at,
                ..
            },
        ) => {
            if let Some(c) = s.consents.get_mut(consent_id) {
                c.withdrawn_at = Some(*effective_at);
                for x in c.versions.iter_mut() {
                    if matches!(x.status, ConsentStatus::Active | ConsentStatus::Pending) {
                        x.status = ConsentStatus::Withdrawn;
                    }
                }
            }
            Some(s)
        }
        (
            Some(mut s),
            E::ConsentExpired {
                consent_id,
                version: v,
                ..
            },
        ) => {
            if let Some(x) = s
                .consents
                .get_mut(consent_id)
                .and_then(|c| c.version_mut(*v))
            {
                x.status = ConsentStatus::Expired;
            }
            Some(s)
        }
        (Some(mut s), E::BreakGlassOpened { grant, .. }) => {
            s.break_glass.push(Grant {
                grant: grant.clone(),
                ended_at: None,
            });
            Some(s)
        }
        (
            Some(mut s),
            E::BreakGlassEnded {
                grant_id, ended_at, ..
            },
        ) => {
            if let Some(g) = s
                .break_glass
                .iter_mut()
                .find(|g| g.grant.grant_id.as_str() == grant_id)
            {
                g.ended_at = Some(*ended_at);
            }
            Some(s)
        }
        (state, _) => state,
    }
}

/// Versions before `version` that were in force or waiting are superseded by it.
fn supersede(c: &mut Consent, version: u32) {
    for x in c.versions.iter_mut() {
        if x.version < version && matches!(x.status, ConsentStatus::Active | ConsentStatus::Pending)
        {
            x.status = ConsentStatus::Superseded;
        }
    }
}

#[cfg(test)]
mod tests {
    use ::consent::{ConsentModel, DataCategory, FamilyRelationship};
    use permissions::{Profession, Role, Subject};

    use super::*;

    const P: &str = "0190a0c0-0000-7000-8000-0000000000aa";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn registered() -> IdentityEvent {
        IdentityEvent::PatientRegistered {
            patient_id: P.into(),
            home_municipality: "322032".into(),
            insurer_number: "322032".into(),
            registering_site: Some("care-office".into()),
            registered_by: "cm".into(),
            possible_duplicates: vec![],
            personal: None,
        }
    }

    fn given(events: &[IdentityEvent]) -> Option<Consents> {
        events.iter().fold(None, evolve)
    }

    fn form(model: ConsentModel, categories: &[DataCategory]) -> ConsentDetails {
        ConsentDetails {
            model,
            categories: categories.to_vec(),
            valid_from: date("2026-10-01"),
            valid_until: Some(date("2027-09-30")),
            family_information: false,
            form: ReceivedForm::Written,
            given_by: ConsentGiver::Patient,
            signed_on: date("2026-10-01"),
            received_at_site: "nursing".into(),
            scanned_form: Some("0f".repeat(32)),
        }
    }

    fn listed(sites: &[&str]) -> ConsentModel {
        ConsentModel::ListedSites {
            sites: sites.iter().map(|s| SiteId::from(*s)).collect(),
        }
    }

    fn facts() -> FormFacts {
        FormFacts {
            receiving_site_ok: true,
            unknown_sites: vec![],
            today: Some(date("2026-10-01")),
        }
    }

    fn record(id: &str, form: ConsentDetails) -> ConsentCommand {
        ConsentCommand::Record {
            consent_id: id.into(),
            details: form,
            recorded_by: "ns".into(),
            facts: facts(),
        }
    }

    fn amend(id: &str, form: ConsentDetails) -> ConsentCommand {
        ConsentCommand::Amend {
            consent_id: id.into(),
            details: form,
            recorded_by: "ns".into(),
            facts: facts(),
        }
    }

    fn verify(id: &str, version: u32) -> ConsentCommand {
        ConsentCommand::Verify {
            consent_id: id.into(),
            version,
            verified_by: "sec".into(),
        }
    }

    fn withdraw(id: &str, now: &str) -> ConsentCommand {
        ConsentCommand::Withdraw {
            consent_id: id.into(),
            effective_at: None,
            recorded_by: "ns".into(),
            now: at(now),
        }
    }

    /// Given the events so far, when the command is decided, then its event is appended.
    fn when(history: &mut Vec<IdentityEvent>, command: ConsentCommand) -> IdentityEvent {
        let event = decide(given(history).as_ref(), command)
            .expect("allowed")
            .expect("an event");
        history.push(event.clone());
        event
    }

    fn status_of(history: &[IdentityEvent], id: &str) -> Vec<(u32, ConsentStatus)> {
        given(history).unwrap().consents[id]
            .versions
            .iter()
            .map(|v| (v.version, v.status))
            .collect()
    }

    fn field_of(err: ConsentError) -> String {
        match err {
            ConsentError::Invalid(i) => i.field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn a_recorded_consent_waits_for_the_secretariat_and_then_is_in_force() {
        let mut h = vec![registered()];
        when(
            &mut h,
            record(
                "c1",
                form(listed(&["nursing", "clinic"]), &[DataCategory::CareRecords]),
            ),
        );
        assert_eq!(status_of(&h, "c1"), [(1, ConsentStatus::Pending)]);
        when(&mut h, verify("c1", 1));
        assert_eq!(status_of(&h, "c1"), [(1, ConsentStatus::Active)]);
        assert_eq!(
            decide(given(&h).as_ref(), verify("c1", 1)),
            Ok(None),
            "verifying twice changes nothing"
        );
    }

    #[test]
    fn a_verbal_consent_is_refused_with_the_reason() {
        let h = vec![registered()];
        let mut verbal = form(listed(&["nursing"]), &[DataCategory::CareRecords]);
        verbal.form = ReceivedForm::Verbal;
        let err = decide(given(&h).as_ref(), record("c1", verbal)).unwrap_err();
        assert!(
            matches!(&err, ConsentError::Invalid(i) if i.field == "/form" && i.reason.contains("writing"))
        );
    }

    #[test]
    fn a_proxy_needs_a_relationship_and_their_name_is_personal() {
        let h = vec![registered()];
        let mut by_proxy = form(listed(&["nursing"]), &[DataCategory::CareRecords]);
        by_proxy.given_by = ConsentGiver::Proxy {
            name: "出雲　一郎".into(),
            relationship: None,
        };
        let err = decide(given(&h).as_ref(), record("c1", by_proxy.clone())).unwrap_err();
        assert_eq!(field_of(err), "/given_by/relationship");

        by_proxy.given_by = ConsentGiver::Proxy {
            name: "出雲　一郎".into(),
            relationship: Some(FamilyRelationship::Child),
        };
        let event = decide(given(&h).as_ref(), record("c1", by_proxy))
            .unwrap()
            .unwrap();
        let IdentityEvent::ConsentRecorded {
            terms, personal, ..
        } = event
        else {
            panic!("recorded")
        };
        assert_eq!(
            terms.given_by,
            GivenBy::Proxy {
                relationship: FamilyRelationship::Child
            }
        );
        assert_eq!(personal.unwrap().proxy_name.as_deref(), Some("出雲 一郎"));
    }

    #[test]
    fn a_form_is_refused_naming_the_field_at_fault() {
        let h = vec![registered()];
        let state = given(&h);
        let try_form = |f: ConsentDetails, facts: FormFacts| {
            field_of(
                decide(
                    state.as_ref(),
                    ConsentCommand::Record {
                        consent_id: "c1".into(),
                        details: f,
                        recorded_by: "ns".into(),
                        facts,
                    },
                )
                .unwrap_err(),
            )
        };
        let ok = form(listed(&["nursing", "clinic"]), &[DataCategory::CareRecords]);
        assert_eq!(
            try_form(
                ConsentDetails {
                    categories: vec![],
                    ..ok.clone()
                },
                facts()
            ),
            "/categories"
        );
        assert_eq!(
            try_form(
                ok.clone(),
                FormFacts {
                    unknown_sites: vec!["clinic".into()],
                    ..facts()
                }
            ),
            "/model/sites/1"
        );
        assert_eq!(
            try_form(
                ok.clone(),
                FormFacts {
                    receiving_site_ok: false,
                    ..facts()
                }
            ),
            "/received_at_site"
        );
        assert_eq!(
            try_form(
                ConsentDetails {
                    signed_on: date("2026-10-02"),
                    valid_from: date("2026-10-02"),
                    ..ok.clone()
                },
                facts()
            ),
            "/signed_on"
        );
        assert_eq!(
            try_form(
                ConsentDetails {
                    valid_until: Some(date("2026-09-30")),
                    ..ok
                },
                facts()
            ),
            "/valid_until"
        );
    }

    #[test]
    fn a_widening_amendment_waits_while_the_version_in_force_stays_in_force() {
        let mut h = vec![registered()];
        when(
            &mut h,
            record(
                "c1",
                form(listed(&["nursing"]), &[DataCategory::CareRecords]),
            ),
        );
        when(&mut h, verify("c1", 1));
        let amended = when(
            &mut h,
            amend(
                "c1",
                form(
                    listed(&["nursing", "pharmacy"]),
                    &[DataCategory::CareRecords],
                ),
            ),
        );
        assert!(matches!(
            amended,
            IdentityEvent::ConsentAmended {
                version: 2,
                in_force_at_once: false,
                ..
            }
        ));
        assert_eq!(
            status_of(&h, "c1"),
            [(1, ConsentStatus::Active), (2, ConsentStatus::Pending)]
        );
        assert_eq!(
            decide(
                given(&h).as_ref(),
                amend(
                    "c1",
                    form(listed(&["nursing"]), &[DataCategory::CareRecords])
                )
            ),
            Err(ConsentError::VersionWaiting(2))
        );
        when(&mut h, verify("c1", 2));
        assert_eq!(
            status_of(&h, "c1"),
            [(1, ConsentStatus::Superseded), (2, ConsentStatus::Active)]
        );
    }

    #[test]
    fn a_narrowing_amendment_is_a_withdrawal_in_part_and_takes_effect_at_once() {
        let mut h = vec![registered()];
        let all = ConsentModel::AllParticipatingSites { excluded: vec![] };
        when(&mut h, record("c1", form(all, DataCategory::ALL)));
        when(&mut h, verify("c1", 1));
        let exclude_pharmacy = ConsentModel::AllParticipatingSites {
            excluded: vec!["pharmacy".into()],
        };
        let amended = when(
            &mut h,
            amend("c1", form(exclude_pharmacy, DataCategory::ALL)),
        );
        assert!(matches!(
            amended,
            IdentityEvent::ConsentAmended {
                in_force_at_once: true,
                ..
            }
        ));
        assert_eq!(
            status_of(&h, "c1"),
            [(1, ConsentStatus::Superseded), (2, ConsentStatus::Active)]
        );
    }

    #[test]
    fn a_withdrawal_closes_every_version_at_once_and_the_patient_may_consent_again() {
        let mut h = vec![registered()];
        when(
            &mut h,
            record(
                "c1",
                form(listed(&["nursing"]), &[DataCategory::CareRecords]),
            ),
        );
        when(&mut h, verify("c1", 1));
        when(
            &mut h,
            amend(
                "c1",
                form(listed(&["nursing", "clinic"]), &[DataCategory::CareRecords]),
            ),
        );
        when(&mut h, withdraw("c1", "2026-11-01T00:00:00Z"));
        assert_eq!(
            status_of(&h, "c1"),
            [(1, ConsentStatus::Withdrawn), (2, ConsentStatus::Withdrawn)]
        );
        let state = given(&h);
        assert_eq!(
            decide(state.as_ref(), verify("c1", 2)),
            Err(ConsentError::Withdrawn)
        );
        assert_eq!(
            decide(
                state.as_ref(),
                amend(
                    "c1",
                    form(listed(&["nursing"]), &[DataCategory::CareRecords])
                )
            ),
            Err(ConsentError::Withdrawn)
        );
        assert_eq!(
            decide(state.as_ref(), withdraw("c1", "2026-11-02T00:00:00Z")),
            Ok(None)
        );
        when(
            &mut h,
            record(
                "c2",
                form(listed(&["nursing"]), &[DataCategory::CareRecords]),
            ),
        );
        when(&mut h, verify("c2", 1));
        assert_eq!(status_of(&h, "c2"), [(1, ConsentStatus::Active)]);
    }

    #[test]
    fn a_withdrawal_told_earlier_is_recorded_with_its_time_but_never_in_advance() {
        let mut h = vec![registered()];
        when(
            &mut h,
            record(
                "c1",
                form(listed(&["nursing"]), &[DataCategory::CareRecords]),
            ),
        );
        let told = ConsentCommand::Withdraw {
            consent_id: "c1".into(),
            effective_at: Some(at("2026-11-01T00:00:00Z")),
            recorded_by: "ns".into(),
            now: at("2026-11-03T00:00:00Z"),
        };
        let event = decide(given(&h).as_ref(), told).unwrap().unwrap();
        assert!(matches!(
            event,
            IdentityEvent::ConsentWithdrawn { effective_at, .. } if effective_at == at("2026-11-01T00:00:00Z")
        ));
        let ahead = ConsentCommand::Withdraw {
            consent_id: "c1".into(),
            effective_at: Some(at("2026-11-04T00:00:00Z")),
            recorded_by: "ns".into(),
            now: at("2026-11-03T00:00:00Z"),
        };
        assert_eq!(
            field_of(decide(given(&h).as_ref(), ahead).unwrap_err()),
            "/effective_at"
        );
    }

    #[test]
    fn the_secretariat_rejects_a_pending_form_with_a_reason() {
        let mut h = vec![registered()];
        when(
            &mut h,
            record(
                "c1",
                form(listed(&["nursing"]), &[DataCategory::CareRecords]),
            ),
        );
        let reject = |reason: &str| ConsentCommand::Reject {
            consent_id: "c1".into(),
            version: 1,
            reason: reason.into(),
        };
        assert_eq!(
            field_of(decide(given(&h).as_ref(), reject(" ")).unwrap_err()),
            "/reason"
        );
        when(&mut h, reject("署名欄が空欄です"));
        assert_eq!(status_of(&h, "c1"), [(1, ConsentStatus::Rejected)]);
        assert_eq!(
            decide(given(&h).as_ref(), verify("c1", 1)),
            Err(ConsentError::NotPending(1))
        );
        // The site corrects the form: version 2, pending again.
        when(
            &mut h,
            amend(
                "c1",
                form(listed(&["nursing"]), &[DataCategory::CareRecords]),
            ),
        );
        assert_eq!(
            status_of(&h, "c1"),
            [(1, ConsentStatus::Rejected), (2, ConsentStatus::Pending)]
        );
    }

    #[test]
    fn a_version_expires_only_after_its_last_day_in_japan() {
        let mut h = vec![registered()];
        when(
            &mut h,
            record(
                "c1",
                form(listed(&["nursing"]), &[DataCategory::CareRecords]),
            ),
        );
        when(&mut h, verify("c1", 1));
        let expire = |now: &str| ConsentCommand::Expire {
            consent_id: "c1".into(),
            version: 1,
            now: at(now),
        };
        // Valid until 2027-09-30: the day ends at 15:00 UTC.
        assert_eq!(
            decide(given(&h).as_ref(), expire("2027-09-30T14:59:59Z")),
            Err(ConsentError::NotExpiredYet(1))
        );
        when(&mut h, expire("2027-09-30T15:00:00Z"));
        assert_eq!(status_of(&h, "c1"), [(1, ConsentStatus::Expired)]);
        assert_eq!(
            decide(given(&h).as_ref(), expire("2027-10-01T00:00:00Z")),
            Ok(None)
        );
    }

    #[test]
    fn nothing_changes_for_an_unregistered_patient_or_after_the_end_of_care() {
        let form = form(listed(&["nursing"]), &[DataCategory::CareRecords]);
        assert_eq!(
            decide(None, record("c1", form.clone())),
            Err(ConsentError::PatientNotRegistered)
        );
        let ended = IdentityEvent::PatientCareEnded {
            patient_id: P.into(),
            reason: identity_api::patients::EndOfCareReason::Death,
            effective_at: at("2026-12-20T00:00:00Z"),
        };
        let h = vec![registered(), ended];
        assert_eq!(
            decide(given(&h).as_ref(), record("c1", form)),
            Err(ConsentError::CareEnded)
        );
        assert_eq!(
            decide(given(&h).as_ref(), verify("c1", 1)),
            Err(ConsentError::CareEnded)
        );
    }

    #[test]
    fn a_nurse_breaks_the_glass_with_a_reason_for_four_hours_and_a_care_manager_cannot() {
        let h = vec![registered()];
        let caller = |profession| Caller {
            member_id: "m".into(),
            session_id: "s".into(),
            subject: Subject::new([Role::Professional], Some(profession)),
            sites: vec!["hospital".into()],
            municipality: Some("322032".into()),
        };
        let open = |profession, reason: &str, minutes| ConsentCommand::OpenBreakGlass {
            grant_id: "g1".into(),
            caller: caller(profession),
            reason: reason.into(),
            minutes,
            site: Some("hospital".into()),
            now: at("2026-10-01T03:00:00Z"),
        };
        let event = decide(given(&h).as_ref(), open(Profession::Nurse, "急変", None))
            .unwrap()
            .unwrap();
        let IdentityEvent::BreakGlassOpened { grant, .. } = &event else {
            panic!("opened")
        };
        assert_eq!(grant.expires_at, at("2026-10-01T07:00:00Z"));
        assert_eq!(given(&[registered(), event]).unwrap().break_glass.len(), 1);
        assert_eq!(
            field_of(decide(given(&h).as_ref(), open(Profession::Nurse, "", None)).unwrap_err()),
            "/reason"
        );
        assert_eq!(
            field_of(
                decide(
                    given(&h).as_ref(),
                    open(Profession::Nurse, "急変", Some(721))
                )
                .unwrap_err()
            ),
            "/minutes"
        );
        assert_eq!(
            decide(
                given(&h).as_ref(),
                open(Profession::CareManager, "急変", None)
            ),
            Err(ConsentError::BreakGlassNotPermitted(
                permissions::DenialReason::ProfessionNotAllowed
            ))
        );
    }

    #[test]
    fn a_grant_past_its_limit_ends_once_even_after_the_end_of_care_and_not_before() {
        // Given a grant opened at 03:00 for 30 minutes, and then the end of the patient's care.
        let opened = IdentityEvent::BreakGlassOpened {
            patient_id: P.into(),
            grant: BreakGlassGrant {
                grant_id: "g1".into(),
                member_id: "dr".into(),
                reason: "急変".into(),
                opened_at: at("2026-10-01T03:00:00Z"),
                expires_at: at("2026-10-01T03:30:00Z"),
            },
            site: None,
        };
        let care_ended = IdentityEvent::PatientCareEnded {
            patient_id: P.into(),
            reason: identity_api::patients::EndOfCareReason::Death,
            effective_at: at("2026-10-01T03:10:00Z"),
        };
        let h = vec![registered(), opened, care_ended];
        let end = |grant_id: &str, now| ConsentCommand::EndBreakGlass {
            grant_id: grant_id.into(),
            now: at(now),
        };

        // When the service asks before the limit, then nothing ends.
        assert_eq!(
            decide(given(&h).as_ref(), end("g1", "2026-10-01T03:29:59Z")),
            Err(ConsentError::GrantStillOpen(at("2026-10-01T03:30:00Z")))
        );
        // When it asks after the limit, then the grant ends at its limit, as expired.
        let ended = decide(given(&h).as_ref(), end("g1", "2026-10-01T04:00:00Z"))
            .unwrap()
            .unwrap();
        assert_eq!(
            ended,
            IdentityEvent::BreakGlassEnded {
                patient_id: P.into(),
                grant_id: "g1".into(),
                member_id: "dr".into(),
                ended_at: at("2026-10-01T03:30:00Z"),
                why: BreakGlassEndReason::Expired,
            }
        );
        // Then it reads as ended, and asking again records nothing more.
        let h = [h, vec![ended]].concat();
        let state = given(&h).unwrap();
        assert_eq!(
            state.break_glass[0].ended_at,
            Some(at("2026-10-01T03:30:00Z"))
        );
        assert_eq!(
            decide(Some(&state), end("g1", "2026-10-01T05:00:00Z")),
            Ok(None)
        );
        // A grant the patient never had does not end.
        assert_eq!(
            decide(Some(&state), end("g2", "2026-10-01T05:00:00Z")),
            Err(ConsentError::NoSuchGrant)
        );
    }
}
