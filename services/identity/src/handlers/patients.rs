//! Bus endpoints of patients.
//!
//! **Commands** (registration, moves, care levels, end of care, consents, the care team,
//! break-glass, erasure) load the patient's aggregate from the event store, opening its
//! sealed personal fields with the patient's key; ask the permission rules with the ties the
//! patient's history shows (a seat on the team, the registering site, the home
//! municipality); decide purely; and append one event, its personal field sealed.
//!
//! **Reads of patient data** (registration data, the record and its documents, time travel)
//! and the attachment of documents go through the access decision on current facts: the
//! patient subject's last sequence is asked of the stream, the care projection is awaited
//! until it has applied it, and `consent::decide` is asked with that sequence, so a
//! withdrawal refuses the very next request. Each such request records exactly one
//! `AccessRecorded` (allowed or denied) before anything is returned; if the record cannot
//! be written, nothing is returned.

use std::sync::Arc;
use std::time::Duration;

use access_log::{AccessRecorded, Accessor};
use bus::{CallContext, Incoming, Reply};
use chrono::{DateTime, Utc};
use consent::{
    AccessDecision, AccessRequest, Basis, CategorySet, DenialReason, PatientAccessFacts, Purpose,
    Reach,
};
use credentials::shredding::DataKey;
use event_store::{EventContract, EventStore, ExpectedVersion, Position, Visibility};
use identity_api::CONTEXT;
use identity_api::events::IdentityEvent;
use identity_api::patients::{endpoints as ep, *};
use permissions::{Action, Caller, Relationship, Role};
use problem::Problem;
use uuid::Uuid;

use super::{Identity, Scope, db_problem, store_problem};
use crate::credential_store::PatientKey;
use crate::domain::care_team::{self, SeatFacts, TeamCommand, TeamError};
use crate::domain::consent::{self as consents, ConsentCommand, ConsentError, FormFacts};
use crate::domain::patient::{self, PatientCommand, PatientError, RegistrationFacts};
use crate::domain::{access, document, normalised_kana};
use crate::projections::care;
use crate::records::{self, PatientRow};
use crate::sealing;

mod for_services;
mod lists;

/// The actor of the bootstrap credential: the region's operator before any member exists.
/// It does administrative things (registration, consents, teams, erasure); it is not a
/// clinician and never reaches clinical content.
pub const BOOTSTRAP: &str = "operator:bootstrap";

/// How long a decision waits for the care projection to reach the patient's subject.
const DECISION_WAIT: Duration = Duration::from_secs(2);

/// Every endpoint of this module.
pub const ENDPOINTS: &[&str] = &[
    ep::REGISTER_PATIENT,
    ep::MOVE_PATIENT,
    ep::CERTIFY_CARE_LEVEL,
    ep::END_CARE,
    ep::RECORD_CONSENT,
    ep::AMEND_CONSENT,
    ep::VERIFY_CONSENT,
    ep::REJECT_CONSENT,
    ep::WITHDRAW_CONSENT,
    ep::ADD_TEAM_MEMBER,
    ep::REMOVE_TEAM_MEMBER,
    ep::SET_CONTACT_24H,
    ep::ADD_FAMILY_CONTACT,
    ep::REMOVE_FAMILY_CONTACT,
    ep::OPEN_BREAK_GLASS,
    ep::GET_PATIENT_REGISTRATION,
    ep::WHO_COULD_SEE,
    ep::ATTACH_DOCUMENT,
    ep::READ_PATIENT_RECORD,
    ep::OPEN_DOCUMENT,
    ep::ERASE_PATIENT,
    ep::LIST_MY_PATIENTS,
    ep::LIST_MUNICIPALITY_PATIENTS,
    identity_api::patient_access::PATIENT_ACCESS,
    identity_api::patient_access::SEARCH_TERMS,
    identity_api::colleagues::AUTHOR,
    identity_api::colleagues::CENTRE_STAFF,
];

/// Who asks.
#[derive(Debug, Clone, Copy)]
enum Asker<'a> {
    /// The bootstrap credential.
    Bootstrap,
    /// A signed-in member, as the gateway verified them.
    Member(&'a Caller),
}

impl Asker<'_> {
    /// How events and records name them.
    fn id(&self) -> String {
        match self {
            Self::Bootstrap => BOOTSTRAP.to_owned(),
            Self::Member(c) => c.member_id.clone(),
        }
    }

    fn accessor(&self) -> Accessor {
        match self {
            Self::Bootstrap => Accessor {
                member_id: BOOTSTRAP.to_owned(),
                session_id: String::new(),
                roles: vec![Role::Operator.as_str().to_owned()],
                profession: None,
                sites: Vec::new(),
                municipality: None,
            },
            Self::Member(c) => Accessor::of(c),
        }
    }

    fn has_role(&self, role: Role) -> bool {
        match self {
            Self::Bootstrap => role == Role::Operator,
            Self::Member(c) => c.subject.has_role(role),
        }
    }
}

fn asker(ctx: &CallContext) -> Result<Asker<'_>, Problem> {
    if ctx.actor == BOOTSTRAP {
        return Ok(Asker::Bootstrap);
    }
    ctx.caller
        .as_ref()
        .map(Asker::Member)
        .ok_or_else(|| Problem::unauthenticated("sign in first"))
}

fn no_such_patient() -> Problem {
    Problem::not_found("no such patient")
}

fn erased() -> Problem {
    Problem::conflict(
        "patient-erased",
        "the patient's personal data was erased; nothing about them changes any more",
    )
}

/// A patient id: a UUID the service chose, in its lower-case form. Anything else names no
/// patient.
fn patient_id(value: &str) -> Result<String, Problem> {
    match Uuid::try_parse(value) {
        Ok(id) if value.len() == 36 => Ok(id.to_string()),
        _ => Err(no_such_patient()),
    }
}

fn uuid_of(patient_id: &str) -> Result<Uuid, Problem> {
    Uuid::try_parse(patient_id).map_err(|_| no_such_patient())
}

fn key_problem(e: crate::credential_store::StoreError) -> Problem {
    tracing::error!(error = %e, "credential store failure");
    Problem::unavailable("the key store is unavailable; try again")
}

fn patient_problem(e: PatientError) -> Problem {
    match e {
        PatientError::Invalid(i) => i.into(),
        PatientError::AlreadyRegistered => Problem::conflict("already-exists", e.to_string()),
        PatientError::NotRegistered => no_such_patient(),
        PatientError::CareEnded => Problem::conflict("care-ended", e.to_string()),
        PatientError::Erased => erased(),
    }
}

fn consent_problem(e: ConsentError) -> Problem {
    match e {
        ConsentError::Invalid(i) => i.into(),
        ConsentError::PatientNotRegistered => no_such_patient(),
        ConsentError::CareEnded => Problem::conflict("care-ended", e.to_string()),
        ConsentError::AlreadyRecorded(_) => Problem::conflict("already-exists", e.to_string()),
        ConsentError::NoSuchConsent | ConsentError::NoSuchVersion(_) => {
            Problem::not_found(e.to_string())
        }
        ConsentError::NotPending(_) => Problem::conflict("not-pending", e.to_string()),
        ConsentError::VersionWaiting(_) => Problem::conflict("version-waiting", e.to_string()),
        ConsentError::Withdrawn => Problem::conflict("consent-withdrawn", e.to_string()),
        ConsentError::NotExpiredYet(_) => Problem::conflict("not-expired", e.to_string()),
        ConsentError::BreakGlassNotPermitted(_) => Problem::forbidden(e.to_string()),
        ConsentError::NoSuchGrant => Problem::not_found(e.to_string()),
        ConsentError::GrantStillOpen(_) => Problem::conflict("not-expired", e.to_string()),
    }
}

fn team_problem(e: TeamError) -> Problem {
    match e {
        TeamError::Invalid(i) => i.into(),
        TeamError::PatientNotRegistered => no_such_patient(),
        TeamError::CareEnded => Problem::conflict("care-ended", e.to_string()),
        TeamError::AlreadySeated(_) => Problem::conflict("already-exists", e.to_string()),
        TeamError::NoSuchSeat | TeamError::NoSuchContact => Problem::not_found(e.to_string()),
        TeamError::TooManyContacts => Problem::conflict("too-many", e.to_string()),
    }
}

/// The ties between a member and a patient at `now`, from the patient's facts: a seat on
/// the team held now at one of the member's sites or naming them; the registering site is
/// one of theirs; the patient's home municipality is theirs; a live break-glass grant.
pub(crate) fn ties(
    caller: &Caller,
    facts: &PatientAccessFacts,
    now: DateTime<Utc>,
) -> Vec<Relationship> {
    let works_at = |site: &str| caller.sites.iter().any(|s| s == site);
    let mut ties = Vec::new();
    if facts.team.iter().any(|seat| {
        seat.held_at(now)
            && (works_at(seat.site.as_str())
                || seat.member.as_ref().is_some_and(|m| *m == caller.member_id))
    }) {
        ties.push(Relationship::OnPatientTeam);
    }
    if facts
        .registering_site
        .as_ref()
        .is_some_and(|s| works_at(s.as_str()))
    {
        ties.push(Relationship::RegisteringSite);
    }
    if facts.home_municipality.is_some() && facts.home_municipality == caller.municipality {
        ties.push(Relationship::OwnMunicipality);
    }
    if facts
        .break_glass
        .iter()
        .any(|g| g.member_id == caller.member_id && g.live_at(now))
    {
        ties.push(Relationship::BreakGlass);
    }
    ties
}

/// Has the member ever been tied to the patient (a seat at any time, the registering site,
/// the home municipality, a grant)? Someone who never was learns nothing from a refusal:
/// they get 404, as if the patient did not exist.
pub(crate) fn ever_tied(caller: &Caller, facts: &PatientAccessFacts) -> bool {
    let works_at = |site: &str| caller.sites.iter().any(|s| s == site);
    facts.team.iter().any(|seat| {
        works_at(seat.site.as_str()) || seat.member.as_ref().is_some_and(|m| *m == caller.member_id)
    }) || facts
        .registering_site
        .as_ref()
        .is_some_and(|s| works_at(s.as_str()))
        || (facts.home_municipality.is_some() && facts.home_municipality == caller.municipality)
        || facts
            .break_glass
            .iter()
            .any(|g| g.member_id == caller.member_id)
}

/// May `asker` do `action` to this patient? The bootstrap operator does administrative
/// things; a member is asked of the permission rules with their ties. A member with no tie
/// at all is told the patient does not exist.
fn authorize(
    asker: &Asker<'_>,
    action: Action,
    facts: &PatientAccessFacts,
    now: DateTime<Utc>,
) -> Result<(), Problem> {
    let Asker::Member(caller) = asker else {
        return Ok(());
    };
    let ties = ties(caller, facts, now);
    match permissions::decide(&caller.subject, action, &ties) {
        permissions::Decision::Allowed { .. } => Ok(()),
        permissions::Decision::Denied {
            reason: permissions::DenialReason::RelationshipMissing,
        } if !ever_tied(caller, facts) => Err(no_such_patient()),
        permissions::Decision::Denied { reason } => Err(Problem::forbidden(format!(
            "{action} is not yours to do for this patient: {reason}"
        ))),
    }
}

/// The answer to a refused access decision: 403 naming the reason (`detail` is its stable
/// name, as in the access record) to someone tied to the patient. Someone never tied to
/// them — and anyone asking about an id no patient has — gets the same 403 with no reason,
/// so the answer does not tell whether the patient exists (the record keeps the reason).
/// The reply to a recorded read: the view when the decision allowed it, else the refusal.
fn answer<T: serde::Serialize>(
    asker: &Asker<'_>,
    decided: &Decided,
    view: Option<Result<T, Problem>>,
) -> Result<Reply, Problem> {
    match (&decided.decision, view) {
        (AccessDecision::Allowed { .. }, Some(view)) => Ok(Reply::value(view?)),
        (decision, _) => Err(refusal(
            asker,
            &decided.facts,
            decision.reason().unwrap_or(DenialReason::NotRegistered),
        )),
    }
}

fn refusal(asker: &Asker<'_>, facts: &PatientAccessFacts, reason: DenialReason) -> Problem {
    use DenialReason as R;
    let tied = match asker {
        Asker::Bootstrap => true,
        Asker::Member(c) => ever_tied(c, facts),
    };
    let denied = |detail: &str| {
        Problem::new(403, "access-denied", "Access denied").with_detail(detail.to_owned())
    };
    match reason {
        R::FactsBehind { .. } => Problem::unavailable(
            "the patient's record is being brought up to date; try again in a moment",
        ),
        R::NoCategoryAsked => {
            Problem::invalid_field("/categories", "ask for at least one category")
        }
        R::NotRegistered if matches!(asker, Asker::Bootstrap) => no_such_patient(),
        R::NotPermitted { .. } | R::PurposeDoesNotFit => denied(reason.as_str()),
        _ if !tied || matches!(reason, R::NotRegistered | R::FactsForAnotherPatient) => {
            denied("you have no access to this patient")
        }
        other => denied(other.as_str()),
    }
}

/// A patient's aggregate as loaded from the stream: the registration, consents and team
/// states, the access facts, the version, and the key that opened its personal fields.
pub(crate) struct LoadedPatient {
    pub id: String,
    pub patient: Option<patient::Patient>,
    pub consents: Option<consents::Consents>,
    pub team: Option<care_team::CareTeam>,
    pub facts: PatientAccessFacts,
    pub version: u64,
    pub key: PatientKey,
}

impl LoadedPatient {
    fn erased(&self) -> bool {
        self.patient.as_ref().is_some_and(|p| p.erased)
    }
}

/// What the access decision was asked and answered, on which facts.
struct Decided {
    reach: Reach,
    decision: AccessDecision,
    purpose: Purpose,
    facts: Arc<PatientAccessFacts>,
    row: Option<PatientRow>,
    subject_last: u64,
    at: DateTime<Utc>,
}

/// The facts of a patient brought up to the subject's last sequence (as far as the wait
/// allowed: the decision refuses facts that are behind).
struct Current {
    subject_last: u64,
    row: Option<PatientRow>,
    facts: Arc<PatientAccessFacts>,
}

impl Identity {
    /// Loads a patient's aggregate, opening personal fields with their key.
    pub(crate) async fn load_patient(&self, patient_id: &str) -> Result<LoadedPatient, Problem> {
        let (events, version) = self
            .store
            .read_aggregate(CONTEXT, PATIENT, patient_id)
            .await
            .map_err(store_problem)?;
        let key = if version == 0 {
            PatientKey::Unknown
        } else {
            self.credentials
                .patient_key(uuid_of(patient_id)?)
                .await
                .map_err(key_problem)?
        };
        let live = match &key {
            PatientKey::Live(k) => Some(k),
            _ => None,
        };
        let mut loaded = LoadedPatient {
            id: patient_id.to_owned(),
            patient: None,
            consents: None,
            team: None,
            facts: PatientAccessFacts::new(patient_id.into()),
            version,
            key: PatientKey::Unknown,
        };
        for recorded in events {
            let env = recorded.envelope;
            let mut payload = env.payload;
            sealing::open(&mut payload, live, patient_id, &env.event_type);
            let event = IdentityEvent::decode(&env.event_type, env.schema_version, payload)
                .map_err(|e| {
                    tracing::error!(position = %recorded.position, error = %e, "stored event unreadable");
                    Problem::internal()
                })?;
            loaded.patient = patient::evolve(loaded.patient.take(), &event);
            loaded.consents = consents::evolve(loaded.consents.take(), &event);
            loaded.team = care_team::evolve(loaded.team.take(), &event);
            access::apply(
                &mut loaded.facts,
                recorded.position.sequence,
                env.occurred_at,
                &event,
            );
        }
        loaded.key = key;
        Ok(loaded)
    }

    /// The key to seal a new event's personal field with: the patient's, made now if they
    /// have none yet; `None` once destroyed.
    async fn sealing_key(
        &self,
        patient_id: &str,
        key: &PatientKey,
    ) -> Result<Option<DataKey>, Problem> {
        match key {
            PatientKey::Live(k) => Ok(Some(k.clone())),
            PatientKey::Destroyed { .. } => Ok(None),
            PatientKey::Unknown => {
                match self
                    .credentials
                    .patient_key_for_new_patient(uuid_of(patient_id)?, self.clock.now())
                    .await
                    .map_err(key_problem)?
                {
                    PatientKey::Live(k) => Ok(Some(k)),
                    _ => Ok(None),
                }
            }
        }
    }

    /// Appends a patient event with its personal field sealed, as patient data of
    /// `municipality`.
    async fn append_patient_event(
        &self,
        ctx: &CallContext,
        patient_id: &str,
        expected: ExpectedVersion,
        event: IdentityEvent,
        key: Option<&DataKey>,
        municipality: Option<String>,
    ) -> Result<Position, Problem> {
        let event_type = event.event_type();
        let mut payload = event.to_payload();
        if event.has_personal_field() {
            match key {
                Some(key) => sealing::seal(&mut payload, key, patient_id, event_type),
                None if payload.get(PERSONAL_FIELD).is_some_and(|p| !p.is_null()) => {
                    return Err(erased());
                }
                None => {}
            }
        }
        self.append_payload(
            ctx,
            PATIENT,
            patient_id,
            expected,
            event_type,
            payload,
            Scope {
                visibility: Visibility::Patient,
                municipality,
            },
        )
        .await
    }

    /// Appends the decided event of a loaded patient (or answers where it already is).
    async fn commit_patient(
        &self,
        ctx: &CallContext,
        loaded: &LoadedPatient,
        event: Option<IdentityEvent>,
    ) -> Result<Position, Problem> {
        let Some(event) = event else {
            return Ok(Position {
                stream: self.store.stream_name(CONTEXT),
                sequence: loaded.version,
            });
        };
        let municipality = match &event {
            IdentityEvent::PatientMoved {
                to_municipality, ..
            } => Some(to_municipality.clone()),
            _ => loaded.facts.home_municipality.clone(),
        };
        let key = if event.has_personal_field() {
            self.sealing_key(&loaded.id, &loaded.key).await?
        } else {
            None
        };
        self.append_patient_event(
            ctx,
            &loaded.id,
            ExpectedVersion::from_loaded(loaded.version),
            event,
            key.as_ref(),
            municipality,
        )
        .await
    }

    /// Loads a registered patient and checks that the asker may do `action` to them.
    async fn prepare<'c>(
        &self,
        ctx: &'c CallContext,
        patient: &str,
        action: Action,
    ) -> Result<(Asker<'c>, LoadedPatient), Problem> {
        let asker = asker(ctx)?;
        let id = patient_id(patient)?;
        let loaded = self.load_patient(&id).await?;
        if !loaded.facts.registered {
            return Err(no_such_patient());
        }
        authorize(&asker, action, &loaded.facts, self.clock.now())?;
        if loaded.erased() && action != Action::ErasePatientData {
            return Err(erased());
        }
        Ok((asker, loaded))
    }

    /// Waits until the care projection has applied everything stored so far.
    async fn care_settled(&self) -> Result<(), Problem> {
        let last = self
            .store
            .last_sequence(CONTEXT)
            .await
            .map_err(store_problem)?;
        projection_runner::wait_for_position(&self.pool, care::SCHEMA, last, self.read_wait)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                projection_runner::RunnerError::Lagging { .. } => {
                    Problem::timeout("the patient register has not caught up yet; try again")
                }
                other => db_problem(other),
            })
    }

    /// Patients of `home` with the same reading (spaces aside) and date of birth: opened
    /// with their keys, erased ones left out.
    async fn same_reading_and_birth(
        &self,
        home: &str,
        details: &NewPatient,
    ) -> Result<Vec<String>, Problem> {
        let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let Ok(kana) = normalised_kana("/name_kana", &details.name_kana) else {
            return Ok(Vec::new());
        };
        let kana = squeeze(&kana);
        self.care_settled().await?;
        let sealed = records::sealed_registrations_in(&self.pool, home)
            .await
            .map_err(db_problem)?;
        let ids: Vec<Uuid> = sealed
            .iter()
            .filter_map(|(id, _)| Uuid::try_parse(id).ok())
            .collect();
        let keys = self
            .credentials
            .patient_keys(&ids)
            .await
            .map_err(key_problem)?;
        let mut same = Vec::new();
        for (id, text) in &sealed {
            let key = Uuid::try_parse(id).ok().and_then(|u| keys.get(&u));
            let personal: Option<PatientPersonal> =
                sealing::open_as(key, Some(text), id, "PatientRegistered");
            if personal.is_some_and(|p| {
                p.date_of_birth == details.date_of_birth && squeeze(&p.name_kana) == kana
            }) {
                same.push(id.clone());
            }
        }
        Ok(same)
    }

    /// Which of the sites a consent form names are open, and whether the receiving site is
    /// one the asker works at.
    async fn form_facts(
        &self,
        asker: &Asker<'_>,
        details: &ConsentDetails,
    ) -> Result<FormFacts, Problem> {
        let mut named: Vec<String> = match &details.model {
            consent::ConsentModel::AllParticipatingSites { excluded } => {
                excluded.iter().map(|s| s.as_str().to_owned()).collect()
            }
            consent::ConsentModel::ListedSites { sites } => {
                sites.iter().map(|s| s.as_str().to_owned()).collect()
            }
            consent::ConsentModel::SiteBySite { site } => vec![site.as_str().to_owned()],
        };
        named.truncate(consent::MAX_SITES_NAMED + 1);
        let mut asked = named.clone();
        asked.push(details.received_at_site.clone());
        let open = self.open_sites(&asked).await?;
        let works_there = match asker {
            Asker::Bootstrap => true,
            Asker::Member(c) => c.sites.contains(&details.received_at_site),
        };
        Ok(FormFacts {
            receiving_site_ok: works_there && open.contains(&details.received_at_site),
            unknown_sites: named.into_iter().filter(|s| !open.contains(s)).collect(),
            today: Some(consent::time::date_in_japan(self.clock.now())),
        })
    }

    async fn member_works_at(&self, member_id: &str, site: &str) -> Result<bool, Problem> {
        let client = self.pool.get().await.map_err(db_problem)?;
        let row = client
            .query_opt(
                "SELECT 1 FROM register.members
                 WHERE member_id = $1 AND $2 = ANY(sites) AND status <> 'deactivated'",
                &[&member_id, &site],
            )
            .await
            .map_err(db_problem)?;
        Ok(row.is_some())
    }

    // ── commands ────────────────────────────────────────────────────────────────────────

    async fn register_patient(&self, ctx: &CallContext, c: NewPatient) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let now = self.clock.now();
        let home =
            crate::domain::municipality::parse_code("/home_municipality", &c.home_municipality)
                .map(|code| code.as_str().to_owned())
                .unwrap_or_else(|_| c.home_municipality.clone());
        if let Asker::Member(caller) = asker {
            let ties: &[Relationship] = if caller.municipality.as_deref() == Some(home.as_str()) {
                &[Relationship::OwnMunicipality]
            } else {
                &[]
            };
            if let permissions::Decision::Denied { reason } =
                permissions::decide(&caller.subject, Action::RegisterPatient, ties)
            {
                return Err(Problem::forbidden(format!(
                    "you may not register patients of this municipality: {reason}"
                )));
            }
            if c.registering_site.is_none() && !caller.subject.has_role(Role::MunicipalSecretariat)
            {
                return Err(Problem::invalid_field(
                    "/registering_site",
                    "name the site registering the patient (one you work at)",
                ));
            }
        }
        let registering_site_ok = match &c.registering_site {
            None => false,
            Some(site) => {
                let works_there = match asker {
                    Asker::Bootstrap => true,
                    Asker::Member(caller) => caller.sites.contains(site),
                };
                works_there
                    && !self
                        .open_sites(std::slice::from_ref(site))
                        .await?
                        .is_empty()
            }
        };
        let home_registered = self.is_registered(&home).await?;
        let same_reading_and_birth = if home_registered {
            self.same_reading_and_birth(&home, &c).await?
        } else {
            Vec::new()
        };
        let id = Uuid::now_v7();
        let event = patient::decide(
            None,
            PatientCommand::Register {
                patient_id: id.to_string(),
                details: c,
                registered_by: asker.id(),
                facts: RegistrationFacts {
                    home_registered,
                    registering_site_ok,
                    same_reading_and_birth,
                    today: Some(consent::time::date_in_japan(now)),
                },
            },
        )
        .map_err(patient_problem)?
        .ok_or_else(Problem::internal)?;
        let possible_duplicates = match &event {
            IdentityEvent::PatientRegistered {
                possible_duplicates,
                ..
            } => possible_duplicates.clone(),
            _ => Vec::new(),
        };
        let PatientKey::Live(key) = self
            .credentials
            .patient_key_for_new_patient(id, now)
            .await
            .map_err(key_problem)?
        else {
            return Err(Problem::internal());
        };
        let position = self
            .append_patient_event(
                ctx,
                &id.to_string(),
                ExpectedVersion::NoStream,
                event,
                Some(&key),
                Some(home),
            )
            .await?;
        Ok(Reply::written(
            PatientRegistration {
                patient_id: id.to_string(),
                possible_duplicates,
            },
            position,
        ))
    }

    async fn on_registration(
        &self,
        ctx: &CallContext,
        patient: &str,
        command: impl FnOnce(DateTime<Utc>) -> PatientCommand,
        to_registered: Option<&str>,
    ) -> Result<Reply, Problem> {
        let (_, loaded) = self.prepare(ctx, patient, Action::ManageCareTeam).await?;
        let mut command = command(self.clock.now());
        if let (
            PatientCommand::Move {
                to_registered: r, ..
            },
            Some(code),
        ) = (&mut command, to_registered)
        {
            *r = self.is_registered(code).await?;
        }
        let event = patient::decide(loaded.patient.as_ref(), command).map_err(patient_problem)?;
        let position = self.commit_patient(ctx, &loaded, event).await?;
        Ok(Reply::written(
            serde_json::json!({ "patient_id": loaded.id }),
            position,
        ))
    }

    async fn on_consents(
        &self,
        ctx: &CallContext,
        patient: &str,
        action: Action,
        command: impl AsyncFnOnce(&Asker<'_>) -> Result<ConsentCommand, Problem>,
    ) -> Result<(Option<IdentityEvent>, Position), Problem> {
        let (asker, loaded) = self.prepare(ctx, patient, action).await?;
        let command = command(&asker).await?;
        let event = consents::decide(loaded.consents.as_ref(), command).map_err(consent_problem)?;
        let position = self.commit_patient(ctx, &loaded, event.clone()).await?;
        Ok((event, position))
    }

    async fn on_team(
        &self,
        ctx: &CallContext,
        patient: &str,
        command: impl AsyncFnOnce(&Asker<'_>, DateTime<Utc>) -> Result<TeamCommand, Problem>,
    ) -> Result<(String, Position), Problem> {
        let (asker, loaded) = self.prepare(ctx, patient, Action::ManageCareTeam).await?;
        let command = command(&asker, self.clock.now()).await?;
        let event = care_team::decide(loaded.team.as_ref(), command).map_err(team_problem)?;
        let position = self.commit_patient(ctx, &loaded, event).await?;
        Ok((loaded.id, position))
    }

    async fn open_break_glass(
        &self,
        ctx: &CallContext,
        c: OpenBreakGlass,
    ) -> Result<Reply, Problem> {
        let Asker::Member(caller) = asker(ctx)? else {
            return Err(Problem::forbidden(
                "the bootstrap credential is not a clinician: break-glass needs a member of a clinical profession",
            ));
        };
        // No tie is needed: the exception exists for patients one is not tied to.
        let id = patient_id(&c.patient_id)?;
        let loaded = self.load_patient(&id).await?;
        if !loaded.facts.registered {
            return Err(no_such_patient());
        }
        if loaded.erased() {
            return Err(erased());
        }
        let grant_id = Uuid::now_v7().to_string();
        let event = consents::decide(
            loaded.consents.as_ref(),
            ConsentCommand::OpenBreakGlass {
                grant_id: grant_id.clone(),
                caller: caller.clone(),
                reason: c.request.reason,
                minutes: c.request.minutes,
                site: caller.sites.first().cloned(),
                now: self.clock.now(),
            },
        )
        .map_err(consent_problem)?;
        let expires_at = match &event {
            Some(IdentityEvent::BreakGlassOpened { grant, .. }) => Some(grant.expires_at),
            _ => None,
        };
        let position = self.commit_patient(ctx, &loaded, event).await?;
        tracing::warn!(patient = %id, member = %caller.member_id, grant = %grant_id, "break-glass opened");
        Ok(Reply::written(
            serde_json::json!({ "patient_id": id, "grant_id": grant_id, "expires_at": expires_at }),
            position,
        ))
    }

    async fn erase_patient(&self, ctx: &CallContext, c: ErasePatient) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let id = patient_id(&c.patient_id)?;
        let loaded = self.load_patient(&id).await?;
        if !loaded.facts.registered {
            return Err(no_such_patient());
        }
        let now = self.clock.now();
        authorize(&asker, Action::ErasePatientData, &loaded.facts, now)?;
        // The reason is checked before the key goes: a refused erasure destroys nothing.
        let event = patient::decide(
            loaded.patient.as_ref(),
            PatientCommand::Erase {
                reason: c.reason,
                erased_by: asker.id(),
            },
        )
        .map_err(patient_problem)?;
        let uuid = uuid_of(&id)?;
        let destroyed_now = self
            .credentials
            .destroy_patient_key(uuid, &asker.id(), now)
            .await
            .map_err(key_problem)?;
        let erased_at = match (&loaded.key, destroyed_now) {
            (PatientKey::Destroyed { at }, false) => *at,
            _ => now,
        };
        let position = self.commit_patient(ctx, &loaded, event).await?;
        tracing::info!(patient = %id, by = %asker.id(), "patient's personal data erased");
        Ok(Reply::written(
            PatientErasure {
                patient_id: id,
                erased_at,
            },
            position,
        ))
    }

    // ── the access decision ─────────────────────────────────────────────────────────────

    /// The patient's facts, current as of the subject's last sequence: asks the stream for
    /// it, waits (bounded) for the care projection to apply it, then folds the projected
    /// changes (or takes the fold cached for that sequence).
    async fn current(&self, patient_id: &str) -> Result<Current, Problem> {
        let subject_last = self
            .store
            .aggregate_version(CONTEXT, PATIENT, patient_id)
            .await
            .map_err(store_problem)?;
        match projection_runner::wait_for_position(
            &self.pool,
            care::SCHEMA,
            subject_last,
            DECISION_WAIT,
        )
        .await
        {
            // Still behind: the decision refuses it (facts behind), and says so.
            Ok(_) | Err(projection_runner::RunnerError::Lagging { .. }) => {}
            Err(e) => return Err(db_problem(e)),
        }
        let row = records::patient(&self.pool, patient_id)
            .await
            .map_err(db_problem)?;
        let sequence = row.as_ref().map_or(0, |r| r.last_sequence);
        let facts = match self.facts.get(patient_id, sequence) {
            Some(facts) => facts,
            None => {
                let changes = records::changes(&self.pool, patient_id, sequence)
                    .await
                    .map_err(db_problem)?;
                let facts = Arc::new(records::fold(patient_id, changes, sequence));
                self.facts.put(facts.clone());
                facts
            }
        };
        Ok(Current {
            subject_last,
            row,
            facts,
        })
    }

    /// Asks the access decision, trying `purposes` in order while the refusal is one an
    /// emergency purpose could lift (a live break-glass grant). `operator` lets the region's
    /// operator through to registration data, which no table rule gives them.
    fn decide_access(
        &self,
        asker: &Asker<'_>,
        patient_id: &str,
        current: Current,
        reach: Reach,
        purposes: &[Purpose],
        operator: bool,
    ) -> Decided {
        let at = self.clock.now();
        let facts = &current.facts;
        let mut answer = None;
        for &purpose in purposes {
            let decision = match asker {
                Asker::Member(c) if !(operator && c.subject.has_role(Role::Operator)) => {
                    consent::decide(
                        facts,
                        &AccessRequest {
                            member: c,
                            patient: patient_id,
                            reach,
                            purpose,
                            at,
                            subject_last_sequence: Some(current.subject_last),
                        },
                    )
                }
                _ => operator_decision(facts, reach, current.subject_last),
            };
            let grant = match asker {
                Asker::Member(c) => facts
                    .break_glass
                    .iter()
                    .any(|g| g.member_id == c.member_id && g.live_at(at)),
                Asker::Bootstrap => false,
            };
            let emergency_could_help = !decision.is_allowed()
                && (decision.reason() == Some(DenialReason::BreakGlassOnlyForEmergencies) || grant);
            answer = Some((decision, purpose));
            if !emergency_could_help {
                break;
            }
        }
        let (decision, purpose) = answer.unwrap_or((
            AccessDecision::Denied {
                reason: DenialReason::PurposeDoesNotFit,
            },
            Purpose::Care,
        ));
        Decided {
            reach,
            decision,
            purpose,
            facts: current.facts,
            row: current.row,
            subject_last: current.subject_last,
            at,
        }
    }

    /// Records the access, allowed or denied. Fails closed: if it cannot be recorded, the
    /// caller returns nothing but this 503.
    async fn record_access(
        &self,
        ctx: &CallContext,
        asker: &Asker<'_>,
        patient_id: &str,
        decided: &Decided,
        resources: Vec<String>,
        route: &str,
    ) -> Result<(), Problem> {
        // Only a benchmark build can skip the record (see `crate::benchmarks`): without the
        // feature this path is not compiled, so no build that serves anyone has it.
        #[cfg(feature = "unrecorded-reads-for-benchmarks")]
        if crate::benchmarks::reads_unrecorded() {
            return Ok(());
        }
        let record = AccessRecorded {
            accessor: asker.accessor(),
            patient_id: patient_id.to_owned(),
            reach: decided.reach,
            resources,
            purpose: decided.purpose,
            decision: decided.decision.clone(),
            break_glass: decided.decision.is_break_glass(),
            client_address: ctx.client_address.clone(),
            route: route.to_owned(),
            at: decided.at,
        };
        self.access_log
            .record(
                &record,
                decided.facts.home_municipality.clone(),
                ctx.correlation_id,
            )
            .await
            .map(|_| ())
            .map_err(|e| {
                tracing::error!(error = %e, patient = %patient_id, route, "access not recorded; nothing returned");
                Problem::unavailable("the access could not be recorded, so nothing was returned; try again")
            })
    }

    // ── reads through the decision ──────────────────────────────────────────────────────

    async fn get_registration(
        &self,
        ctx: &CallContext,
        q: GetPatientRegistration,
    ) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let id = patient_id(&q.patient_id)?;
        let current = self.current(&id).await?;
        let purposes: &[Purpose] =
            if asker.has_role(Role::MunicipalSecretariat) || matches!(asker, Asker::Bootstrap) {
                &[Purpose::Administration]
            } else if asker.has_role(Role::Auditor) {
                &[Purpose::Audit]
            } else {
                &[Purpose::Care, Purpose::Emergency]
            };
        let reach = Reach::Registration;
        let decided = self.decide_access(&asker, &id, current, reach, purposes, false);
        let view = decided
            .decision
            .is_allowed()
            .then(|| registration_view(&id, &decided, decided.at));
        let view = match view {
            Some(Ok(mut view)) => {
                self.name_the_team(&mut view.team).await?;
                Some(Ok(view))
            }
            other => other,
        };
        self.record_access(
            ctx,
            &asker,
            &id,
            &decided,
            vec!["registration".to_owned()],
            ep::GET_PATIENT_REGISTRATION,
        )
        .await?;
        answer(&asker, &decided, view)
    }

    /// Each seat's site by name with its phones, and its member by name and profession: the
    /// team says whom to call (directory data, not the patient's).
    async fn name_the_team(&self, team: &mut [TeamSeat]) -> Result<(), Problem> {
        if team.is_empty() {
            return Ok(());
        }
        let sites: Vec<String> = team.iter().map(|s| s.site.clone()).collect();
        let members: Vec<String> = team.iter().filter_map(|s| s.member.clone()).collect();
        let client = self.pool.get().await.map_err(db_problem)?;
        let site_rows = client
            .query(
                "SELECT site_id, name, phone, contact_24h FROM register.sites WHERE site_id = ANY($1)",
                &[&sites],
            )
            .await
            .map_err(db_problem)?;
        let member_rows = client
            .query(
                "SELECT member_id, name, profession FROM register.members WHERE member_id = ANY($1)",
                &[&members],
            )
            .await
            .map_err(db_problem)?;
        for seat in team.iter_mut() {
            if let Some(site) = site_rows.iter().find(|r| r.get::<_, &str>(0) == seat.site) {
                seat.site_name = Some(site.get(1));
                seat.site_phone = Some(site.get(2));
                seat.site_contact_24h = site.get(3);
            }
            if let Some(member) = seat
                .member
                .as_deref()
                .and_then(|m| member_rows.iter().find(|r| r.get::<_, &str>(0) == m))
            {
                seat.member_name = Some(member.get(1));
                seat.member_profession = Some(member.get(2));
            }
        }
        Ok(())
    }

    async fn who_could_see(
        &self,
        ctx: &CallContext,
        q: WhoCouldSeeQuery,
    ) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let id = patient_id(&q.patient_id)?;
        let current = self.current(&id).await?;
        // Auditors read the access record; the secretariat and the operator registration
        // data (team composition and consent status is what the answer holds). Anyone else
        // asks for the access record and is refused by the rules.
        let (reach, purpose) = if asker.has_role(Role::Auditor) {
            (Reach::AccessRecord, Purpose::Audit)
        } else if asker.has_role(Role::MunicipalSecretariat) || asker.has_role(Role::Operator) {
            (Reach::Registration, Purpose::Administration)
        } else {
            (Reach::AccessRecord, Purpose::Audit)
        };
        let decided = self.decide_access(&asker, &id, current, reach, &[purpose], true);
        let answer = if decided.decision.is_allowed() {
            Some(
                records::history(&self.pool, &id)
                    .await
                    .map(|h| h.who_could_see(q.at, q.reading)),
            )
        } else {
            None
        };
        self.record_access(
            ctx,
            &asker,
            &id,
            &decided,
            vec![format!("who_could_see:{}", q.at.to_rfc3339())],
            ep::WHO_COULD_SEE,
        )
        .await?;
        self::answer(&asker, &decided, answer.map(|a| a.map_err(db_problem)))
    }

    async fn read_record(&self, ctx: &CallContext, q: ReadPatientRecord) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let id = patient_id(&q.patient_id)?;
        if q.categories.is_empty() {
            return Err(Problem::invalid_field(
                "/categories",
                "ask for at least one category",
            ));
        }
        let reach = Reach::ReadClinical {
            categories: CategorySet::of(&q.categories),
        };
        let current = self.current(&id).await?;
        let decided = self.decide_access(&asker, &id, current, reach, &[q.purpose], false);
        let view = match &decided.decision {
            AccessDecision::Allowed { basis, categories } => {
                Some(self.record_view(&id, &decided, basis, *categories).await)
            }
            AccessDecision::Denied { .. } => None,
        };
        let mut resources = vec!["personal".to_owned()];
        if let Some(Ok(view)) = &view {
            resources.extend(
                view.documents
                    .iter()
                    .map(|d| format!("document:{}", d.document_id)),
            );
        }
        self.record_access(
            ctx,
            &asker,
            &id,
            &decided,
            resources,
            ep::READ_PATIENT_RECORD,
        )
        .await?;
        answer(&asker, &decided, view)
    }

    /// The record's content for the allowed categories: personal data opened with the key
    /// (none once erased), documents with their titles.
    async fn record_view(
        &self,
        id: &str,
        decided: &Decided,
        basis: &Basis,
        allowed: CategorySet,
    ) -> Result<PatientRecordView, Problem> {
        let key = match self
            .credentials
            .patient_key(uuid_of(id)?)
            .await
            .map_err(key_problem)?
        {
            PatientKey::Live(k) => Some(k),
            _ => None,
        };
        let key = key.as_ref();
        let row = decided.row.as_ref().filter(|r| r.erased_at.is_none());
        let personal = row.and_then(|r| {
            let registered: PatientPersonal =
                sealing::open_as(key, r.personal_sealed.as_deref(), id, "PatientRegistered")?;
            let moved: Option<NewAddress> =
                sealing::open_as(key, r.address_sealed.as_deref(), id, "PatientMoved");
            let certified: Option<CareLevelCertification> = sealing::open_as(
                key,
                r.care_level_sealed.as_deref(),
                id,
                "CareLevelCertified",
            );
            Some(PatientPersonalView {
                name: registered.name,
                name_kana: registered.name_kana,
                date_of_birth: registered.date_of_birth,
                sex: registered.sex,
                address: moved.map_or(registered.address, |m| m.address),
                care_level: certified.or(registered.care_level),
            })
        });
        let categories: Vec<&str> = allowed.iter().map(|c| c.as_str()).collect();
        let documents = records::documents(&self.pool, id, &categories)
            .await
            .map_err(db_problem)?
            .into_iter()
            .filter_map(|d| {
                let title: Option<DocumentPersonal> = row.and(sealing::open_as(
                    key,
                    d.title_sealed.as_deref(),
                    id,
                    "DocumentAttached",
                ));
                Some(DocumentView {
                    category: document::category(&d.category)?,
                    document_id: d.document_id,
                    sha256: d.sha256,
                    media_type: d.media_type,
                    size: d.size,
                    title: title.map(|t| t.title),
                    attached_at: d.attached_at,
                })
            })
            .collect();
        Ok(PatientRecordView {
            patient_id: id.to_owned(),
            personal,
            allowed_categories: allowed,
            basis: basis.clone(),
            documents,
        })
    }

    async fn open_document(&self, ctx: &CallContext, q: OpenDocument) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let id = patient_id(&q.patient_id)?;
        let current = self.current(&id).await?;
        let found = records::document_by_id(&self.pool, &q.document_id)
            .await
            .map_err(db_problem)?
            .filter(|d| d.patient_id == id);
        let category = found.as_ref().and_then(|d| document::category(&d.category));
        // An unknown document is decided as a read of every category, and answered 404
        // whatever the decision: its absence tells nothing either way.
        let reach = Reach::ReadClinical {
            categories: category.map_or(CategorySet::ALL, CategorySet::from),
        };
        let decided = self.decide_access(&asker, &id, current, reach, &[q.purpose], false);
        self.record_access(
            ctx,
            &asker,
            &id,
            &decided,
            vec![format!("document:{}", q.document_id)],
            ep::OPEN_DOCUMENT,
        )
        .await?;
        if let Some(reason) = decided.decision.reason() {
            return Err(refusal(&asker, &decided.facts, reason));
        }
        match found.filter(|_| category.is_some()) {
            Some(d) => Ok(Reply::value(DocumentBlob {
                sha256: d.sha256,
                media_type: d.media_type,
                size: d.size,
            })),
            None => Err(Problem::not_found("no such document")),
        }
    }

    async fn attach_document(
        &self,
        ctx: &CallContext,
        c: AttachDocument,
    ) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let id = patient_id(&c.patient_id)?;
        let checked = document::checked(&c)?;
        let reach = Reach::WriteClinical {
            categories: CategorySet::from(checked.category),
        };
        let current = self.current(&id).await?;
        let decided = self.decide_access(
            &asker,
            &id,
            current,
            reach,
            // The purpose asked, as a read of the category would weigh it: a write never
            // falls back to break-glass on its own.
            &[c.purpose],
            false,
        );
        let document_id = Uuid::now_v7().to_string();
        self.record_access(
            ctx,
            &asker,
            &id,
            &decided,
            vec![format!("document:{document_id}")],
            ep::ATTACH_DOCUMENT,
        )
        .await?;
        let basis = match &decided.decision {
            AccessDecision::Allowed { basis, .. } => basis,
            AccessDecision::Denied { reason } => {
                return Err(refusal(&asker, &decided.facts, *reason));
            }
        };
        if decided.row.as_ref().is_some_and(|r| r.erased_at.is_some()) {
            return Err(erased());
        }
        let site = match (basis, asker) {
            (Basis::Consent { site, .. }, _) => Some(site.as_str().to_owned()),
            (_, Asker::Member(caller)) => caller.sites.first().cloned(),
            (_, Asker::Bootstrap) => None,
        };
        let event = document::attached(document_id.clone(), checked, asker.id(), site);
        let key = self
            .credentials
            .patient_key(uuid_of(&id)?)
            .await
            .map_err(key_problem)?;
        let key = self.sealing_key(&id, &key).await?.ok_or_else(erased)?;
        // Appended only if nothing happened to the patient since the decision: a withdrawal
        // in between makes this a conflict, never a write the decision did not see.
        let position = self
            .append_patient_event(
                ctx,
                &id,
                ExpectedVersion::from_loaded(decided.subject_last),
                event,
                Some(&key),
                decided.facts.home_municipality.clone(),
            )
            .await?;
        Ok(Reply::written(AttachedDocument { document_id }, position))
    }

    // ── dispatch ────────────────────────────────────────────────────────────────────────

    pub(super) async fn handle_patients(
        &self,
        endpoint: &str,
        incoming: Incoming,
    ) -> Result<Reply, Problem> {
        let ctx = &incoming.ctx;
        match endpoint {
            ep::REGISTER_PATIENT => self.register_patient(ctx, incoming.json()?).await,
            ep::MOVE_PATIENT => {
                let c: MovePatient = incoming.json()?;
                let to = c.change.home_municipality.clone();
                self.on_registration(
                    ctx,
                    &c.patient_id,
                    |_| PatientCommand::Move {
                        change: c.change,
                        to_registered: false,
                    },
                    Some(&to),
                )
                .await
            }
            ep::CERTIFY_CARE_LEVEL => {
                let c: CertifyCareLevel = incoming.json()?;
                self.on_registration(
                    ctx,
                    &c.patient_id,
                    |_| PatientCommand::CertifyCareLevel {
                        certification: c.certification,
                    },
                    None,
                )
                .await
            }
            ep::END_CARE => {
                let c: EndCare = incoming.json()?;
                self.on_registration(
                    ctx,
                    &c.patient_id,
                    |now| PatientCommand::EndCare {
                        ending: c.ending,
                        now,
                    },
                    None,
                )
                .await
            }
            ep::RECORD_CONSENT => {
                let c: RecordConsent = incoming.json()?;
                let consent_id = Uuid::now_v7().to_string();
                let (_, position) = self
                    .on_consents(ctx, &c.patient_id, Action::RecordConsent, async |asker| {
                        Ok(ConsentCommand::Record {
                            consent_id: consent_id.clone(),
                            facts: self.form_facts(asker, &c.details).await?,
                            details: c.details,
                            recorded_by: asker.id(),
                        })
                    })
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "patient_id": c.patient_id.to_ascii_lowercase(), "consent_id": consent_id, "version": 1 }),
                    position,
                ))
            }
            ep::AMEND_CONSENT => {
                let c: AmendConsent = incoming.json()?;
                let consent_id = c.consent_id.clone();
                let (event, position) = self
                    .on_consents(ctx, &c.patient_id, Action::RecordConsent, async |asker| {
                        Ok(ConsentCommand::Amend {
                            consent_id: c.consent_id,
                            facts: self.form_facts(asker, &c.details).await?,
                            details: c.details,
                            recorded_by: asker.id(),
                        })
                    })
                    .await?;
                let (version, in_force_at_once) = match event {
                    Some(IdentityEvent::ConsentAmended {
                        version,
                        in_force_at_once,
                        ..
                    }) => (Some(version), in_force_at_once),
                    _ => (None, false),
                };
                Ok(Reply::written(
                    serde_json::json!({ "consent_id": consent_id, "version": version, "in_force_at_once": in_force_at_once }),
                    position,
                ))
            }
            ep::VERIFY_CONSENT => {
                let c: VerifyConsent = incoming.json()?;
                let (_, position) = self
                    .on_consents(ctx, &c.patient_id, Action::VerifyConsent, async |asker| {
                        Ok(ConsentCommand::Verify {
                            consent_id: c.consent_id.clone(),
                            version: c.version,
                            verified_by: asker.id(),
                        })
                    })
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "consent_id": c.consent_id, "version": c.version }),
                    position,
                ))
            }
            ep::REJECT_CONSENT => {
                let c: RejectConsent = incoming.json()?;
                let (_, position) = self
                    .on_consents(ctx, &c.patient_id, Action::VerifyConsent, async |_| {
                        Ok(ConsentCommand::Reject {
                            consent_id: c.consent_id.clone(),
                            version: c.rejection.version,
                            reason: c.rejection.reason,
                        })
                    })
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "consent_id": c.consent_id, "version": c.rejection.version }),
                    position,
                ))
            }
            ep::WITHDRAW_CONSENT => {
                let c: WithdrawConsent = incoming.json()?;
                let now = self.clock.now();
                let (_, position) = self
                    .on_consents(ctx, &c.patient_id, Action::WithdrawConsent, async |asker| {
                        Ok(ConsentCommand::Withdraw {
                            consent_id: c.consent_id.clone(),
                            effective_at: c.withdrawal.effective_at,
                            recorded_by: asker.id(),
                            now,
                        })
                    })
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "consent_id": c.consent_id }),
                    position,
                ))
            }
            ep::ADD_TEAM_MEMBER => {
                let c: AddTeamMember = incoming.json()?;
                let membership_id = Uuid::now_v7().to_string();
                let (patient_id, position) = self
                    .on_team(ctx, &c.patient_id, async |asker, now| {
                        let open = self.open_sites(std::slice::from_ref(&c.seat.site)).await?;
                        let member_works_there = match &c.seat.member {
                            Some(m) => self.member_works_at(m, &c.seat.site).await?,
                            None => true,
                        };
                        Ok(TeamCommand::Add {
                            membership_id: membership_id.clone(),
                            seat: c.seat,
                            added_by: asker.id(),
                            now,
                            facts: SeatFacts {
                                site_open: !open.is_empty(),
                                member_works_there,
                            },
                        })
                    })
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "patient_id": patient_id, "membership_id": membership_id }),
                    position,
                ))
            }
            ep::REMOVE_TEAM_MEMBER => {
                let c: RemoveTeamMember = incoming.json()?;
                let (patient_id, position) = self
                    .on_team(ctx, &c.patient_id, async |asker, now| {
                        Ok(TeamCommand::Remove {
                            membership_id: c.membership_id.clone(),
                            effective_at: c.effective_at,
                            removed_by: asker.id(),
                            now,
                        })
                    })
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "patient_id": patient_id, "membership_id": c.membership_id }),
                    position,
                ))
            }
            ep::SET_CONTACT_24H => {
                let c: SetContact24h = incoming.json()?;
                let (patient_id, position) = self
                    .on_team(ctx, &c.patient_id, async |_, now| {
                        Ok(TeamCommand::SetContact24h {
                            contact: c.contact,
                            now,
                        })
                    })
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "patient_id": patient_id }),
                    position,
                ))
            }
            ep::ADD_FAMILY_CONTACT => {
                let c: AddFamilyContact = incoming.json()?;
                let contact_id = Uuid::now_v7().to_string();
                let (patient_id, position) = self
                    .on_team(ctx, &c.patient_id, async |_, _| {
                        Ok(TeamCommand::AddFamilyContact {
                            contact_id: contact_id.clone(),
                            contact: c.contact,
                        })
                    })
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "patient_id": patient_id, "contact_id": contact_id }),
                    position,
                ))
            }
            ep::REMOVE_FAMILY_CONTACT => {
                let c: RemoveFamilyContact = incoming.json()?;
                let (patient_id, position) = self
                    .on_team(ctx, &c.patient_id, async |_, _| {
                        Ok(TeamCommand::RemoveFamilyContact {
                            contact_id: c.contact_id.clone(),
                        })
                    })
                    .await?;
                Ok(Reply::written(
                    serde_json::json!({ "patient_id": patient_id, "contact_id": c.contact_id }),
                    position,
                ))
            }
            ep::OPEN_BREAK_GLASS => self.open_break_glass(ctx, incoming.json()?).await,
            ep::ERASE_PATIENT => self.erase_patient(ctx, incoming.json()?).await,
            ep::GET_PATIENT_REGISTRATION => self.get_registration(ctx, incoming.json()?).await,
            ep::WHO_COULD_SEE => self.who_could_see(ctx, incoming.json()?).await,
            ep::READ_PATIENT_RECORD => self.read_record(ctx, incoming.json()?).await,
            ep::OPEN_DOCUMENT => self.open_document(ctx, incoming.json()?).await,
            ep::ATTACH_DOCUMENT => self.attach_document(ctx, incoming.json()?).await,
            ep::LIST_MY_PATIENTS => self.list_my_patients(ctx, incoming.json()?).await,
            identity_api::patient_access::PATIENT_ACCESS => {
                self.patient_access(ctx, incoming.json()?).await
            }
            identity_api::patient_access::SEARCH_TERMS => {
                self.search_terms(ctx, incoming.json()?).await
            }
            identity_api::colleagues::AUTHOR => self.who_asks(ctx, incoming.json()?).await,
            identity_api::colleagues::CENTRE_STAFF => {
                self.centre_staff(ctx, incoming.json()?).await
            }
            ep::LIST_MUNICIPALITY_PATIENTS => {
                self.list_municipality_patients(ctx, incoming.json()?).await
            }
            _ => Err(Problem::not_found("no such endpoint")),
        }
    }
}

/// The region's operator: registration data of a registered patient, on current facts;
/// never clinical content.
fn operator_decision(
    facts: &PatientAccessFacts,
    reach: Reach,
    subject_last: u64,
) -> AccessDecision {
    let denied = |reason| AccessDecision::Denied { reason };
    if facts.sequence < subject_last {
        return denied(DenialReason::FactsBehind {
            facts_sequence: facts.sequence,
            subject_sequence: subject_last,
        });
    }
    match reach {
        Reach::Registration if facts.registered => AccessDecision::Allowed {
            basis: Basis::Registration {
                tie: Relationship::None,
            },
            categories: CategorySet::EMPTY,
        },
        Reach::Registration => denied(DenialReason::NotRegistered),
        _ => denied(DenialReason::NotPermitted {
            rule: permissions::DenialReason::NoRule,
        }),
    }
}

/// Registration data: that the patient is registered, where, the consents' status, the
/// seats held now and the 24-hour contact. No personal data, no clinical content.
fn registration_view(
    id: &str,
    decided: &Decided,
    now: DateTime<Utc>,
) -> Result<PatientRegistrationView, Problem> {
    let facts = &decided.facts;
    let contact_24h = decided
        .row
        .as_ref()
        .and_then(|r| r.contact_24h.clone())
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| {
            tracing::error!(error = %e, "stored 24-hour contact unreadable");
            Problem::internal()
        })?;
    Ok(PatientRegistrationView {
        patient_id: id.to_owned(),
        home_municipality: facts.home_municipality.clone().unwrap_or_default(),
        registering_site: facts
            .registering_site
            .as_ref()
            .map(|s| s.as_str().to_owned()),
        care_ended_at: facts.care_ended_at,
        consents: facts
            .consents
            .iter()
            .map(|v| ConsentSummary {
                consent_id: v.consent_id.as_str().to_owned(),
                version: v.version,
                status: v.status,
                model: v.terms.model.clone(),
                categories: v.terms.categories,
                valid_from: v.terms.valid_from,
                valid_until: v.terms.valid_until,
            })
            .collect(),
        team: facts
            .team
            .iter()
            .filter(|seat| seat.held_at(now))
            .map(|seat| TeamSeat {
                membership_id: seat.membership_id.as_str().to_owned(),
                site: seat.site.as_str().to_owned(),
                member: seat.member.as_ref().map(|m| m.as_str().to_owned()),
                part: seat.part,
                since: seat.since,
                site_name: None,
                site_phone: None,
                site_contact_24h: None,
                member_name: None,
                member_profession: None,
            })
            .collect(),
        contact_24h,
    })
}

#[cfg(test)]
mod tests {
    use consent::{BreakGlassGrant, Change, TeamMembership, TeamPart};
    use permissions::{Profession, Subject};

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn caller(member: &str, roles: &[Role], profession: Profession, sites: &[&str]) -> Caller {
        Caller {
            member_id: member.into(),
            session_id: "s".into(),
            subject: Subject::new(roles, Some(profession)),
            sites: sites.iter().map(|s| (*s).to_owned()).collect(),
            municipality: Some("322032".into()),
        }
    }

    fn facts() -> PatientAccessFacts {
        let mut facts = PatientAccessFacts::new("p".into());
        for change in [
            Change::PatientRegistered {
                home_municipality: "322032".into(),
                registering_site: Some("care-office".into()),
            },
            Change::TeamMemberAdded {
                membership: TeamMembership {
                    membership_id: "t-ns".into(),
                    site: "nursing".into(),
                    member: None,
                    part: TeamPart::VisitingNurse,
                    since: at("2026-10-01T00:00:00Z"),
                    until: None,
                },
            },
            Change::TeamMemberAdded {
                membership: TeamMembership {
                    membership_id: "t-dr".into(),
                    site: "clinic".into(),
                    member: Some("dr".into()),
                    part: TeamPart::HomeDoctor,
                    since: at("2026-10-01T00:00:00Z"),
                    until: Some(at("2026-11-01T00:00:00Z")),
                },
            },
            Change::BreakGlassOpened {
                grant: BreakGlassGrant {
                    grant_id: "g".into(),
                    member_id: "er".into(),
                    reason: "急変".into(),
                    opened_at: at("2026-10-10T00:00:00Z"),
                    expires_at: at("2026-10-10T04:00:00Z"),
                },
            },
        ] {
            facts.apply(&change);
        }
        facts
    }

    #[test]
    fn ties_come_from_seats_held_now_the_registering_site_the_home_municipality_and_live_grants() {
        let f = facts();
        let now = at("2026-10-10T01:00:00Z");
        let nurse = caller("ns", &[Role::Professional], Profession::Nurse, &["nursing"]);
        assert_eq!(
            ties(&nurse, &f, now),
            [Relationship::OnPatientTeam, Relationship::OwnMunicipality]
        );
        // A seat naming the doctor counts wherever they work today; once it ended, it does not.
        let dr = Caller {
            municipality: Some("322059".into()),
            ..caller(
                "dr",
                &[Role::Professional],
                Profession::Physician,
                &["hospital"],
            )
        };
        assert_eq!(ties(&dr, &f, now), [Relationship::OnPatientTeam]);
        assert!(ties(&dr, &f, at("2026-11-02T00:00:00Z")).is_empty());
        assert!(ever_tied(&dr, &f));
        let cm = Caller {
            municipality: None,
            ..caller(
                "cm",
                &[Role::Professional],
                Profession::CareManager,
                &["care-office"],
            )
        };
        assert_eq!(ties(&cm, &f, now), [Relationship::RegisteringSite]);
        let er = Caller {
            municipality: None,
            ..caller("er", &[Role::Professional], Profession::Physician, &["er"])
        };
        assert_eq!(ties(&er, &f, now), [Relationship::BreakGlass]);
        assert!(ties(&er, &f, at("2026-10-10T04:00:00Z")).is_empty());
        let stranger = Caller {
            municipality: None,
            ..caller(
                "x",
                &[Role::Professional],
                Profession::Nurse,
                &["elsewhere"],
            )
        };
        assert!(ties(&stranger, &f, now).is_empty());
        assert!(!ever_tied(&stranger, &f));
    }

    #[test]
    fn commands_follow_the_rules_with_those_ties_and_strangers_are_told_nothing() {
        let f = facts();
        let now = at("2026-10-10T01:00:00Z");
        let nurse = caller("ns", &[Role::Professional], Profession::Nurse, &["nursing"]);
        // On the team, a nurse records consent but does not compose the team (care managers
        // do) nor verify consent (the secretariat does).
        assert!(authorize(&Asker::Member(&nurse), Action::RecordConsent, &f, now).is_ok());
        assert_eq!(
            authorize(&Asker::Member(&nurse), Action::VerifyConsent, &f, now)
                .unwrap_err()
                .status,
            403
        );
        let cm = caller(
            "cm",
            &[Role::Professional],
            Profession::CareManager,
            &["care-office"],
        );
        assert!(authorize(&Asker::Member(&cm), Action::ManageCareTeam, &f, now).is_ok());
        let secretariat = caller(
            "sec",
            &[Role::MunicipalSecretariat],
            Profession::MunicipalStaff,
            &[],
        );
        for action in [
            Action::VerifyConsent,
            Action::ManageCareTeam,
            Action::ErasePatientData,
        ] {
            assert!(authorize(&Asker::Member(&secretariat), action, &f, now).is_ok());
        }
        let other_city = Caller {
            municipality: Some("322059".into()),
            ..secretariat.clone()
        };
        assert_eq!(
            authorize(&Asker::Member(&other_city), Action::VerifyConsent, &f, now)
                .unwrap_err()
                .status,
            404
        );
        assert!(authorize(&Asker::Bootstrap, Action::VerifyConsent, &f, now).is_ok());
    }

    #[test]
    fn refusals_tell_strangers_nothing_about_the_patient_and_name_the_reason_to_the_team() {
        let f = facts();
        let nurse = caller("ns", &[Role::Professional], Profession::Nurse, &["nursing"]);
        let stranger = Caller {
            municipality: None,
            ..caller(
                "x",
                &[Role::Professional],
                Profession::Nurse,
                &["elsewhere"],
            )
        };
        let stranger_is_told = |reason| refusal(&Asker::Member(&stranger), &f, reason);
        for reason in [
            DenialReason::NotOnCareTeam,
            DenialReason::CareEnded,
            DenialReason::NotRegistered,
        ] {
            let p = stranger_is_told(reason);
            assert_eq!(
                (p.status, p.detail.as_deref()),
                (403, Some("you have no access to this patient"))
            );
        }
        let p = refusal(&Asker::Member(&nurse), &f, DenialReason::ConsentWithdrawn);
        assert_eq!(
            (p.status, p.detail.as_deref()),
            (403, Some("consent_withdrawn"))
        );
        let p = refusal(
            &Asker::Member(&nurse),
            &f,
            DenialReason::FactsBehind {
                facts_sequence: 1,
                subject_sequence: 2,
            },
        );
        assert_eq!(p.status, 503);
    }

    #[test]
    fn the_operator_reads_registration_data_of_current_facts_and_nothing_clinical() {
        let mut f = facts();
        f.sequence = 7;
        assert!(operator_decision(&f, Reach::Registration, 7).is_allowed());
        assert!(matches!(
            operator_decision(&f, Reach::Registration, 8).reason(),
            Some(DenialReason::FactsBehind { .. })
        ));
        assert!(
            !operator_decision(
                &f,
                Reach::ReadClinical {
                    categories: CategorySet::ALL
                },
                7
            )
            .is_allowed()
        );
        let unknown = PatientAccessFacts::new("q".into());
        assert_eq!(
            operator_decision(&unknown, Reach::Registration, 0).reason(),
            Some(DenialReason::NotRegistered)
        );
    }
}
